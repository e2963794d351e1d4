import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { authenticateClient, NO_STORE, readOAuthRequest, requiredTokenParameter } from './endpoint-steps.js';
import { revokeAccessToken } from './token-revocation.js';

/**
 * `POST /v2.01/oauth/revoke` (RFC 7009): a client ends one of its access tokens. The client authenticates
 * as at the token endpoint (§2.1). The answer is 200 whether or not the token was valid or the caller's
 * (§2.2), so that it tells nothing about tokens; `token_type_hint` may be ignored (§2.1) and is: only
 * access tokens exist here.
 */
export async function handleRevocationRequest(
  services: Pick<Services, 'apiKeys' | 'failedAuthentications' | 'options' | 'tokens'> &
    Parameters<typeof revokeAccessToken>[0],
  exchange: Exchange,
): Promise<void> {
  const { res, now } = exchange;
  const { parameters, authorization } = await readOAuthRequest(exchange);
  const token = requiredTokenParameter(parameters);
  const { client } = await authenticateClient(services, authorization, exchange);
  const claims = services.tokens.open(token);
  // §2.1: a client may revoke only its own tokens; another's is left alone and answered the same way.
  if (claims !== undefined && claims.clientId === client.clientId) {
    await revokeAccessToken(services, claims, now, 'revoked');
  }
  res.writeHead(200, { ...NO_STORE, 'Content-Length': 0 });
  res.end();
}
