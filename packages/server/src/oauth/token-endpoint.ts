import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import { grantedScope, type KeyScope } from '../domain/scope.js';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { sendJsonText } from '../wire/respond.js';
import { authenticateClient, NO_STORE, readOAuthRequest } from './endpoint-steps.js';
import type { TokenParameters } from './token-request.js';

/**
 * `POST /v2.01/oauth/token`: the client credentials grant (RFC 6749 §4.4) with client_secret_basic
 * authentication (§2.3.1), answered as §5.1 on success and §5.2 on error.
 */
export async function handleTokenRequest(
  services: Pick<
    Services,
    'apiKeys' | 'failedAuthentications' | 'options' | 'limits' | 'tokens' | 'keyUsage' | 'audit'
  >,
  exchange: Exchange,
): Promise<void> {
  const { res, now } = exchange;
  const { parameters, authorization } = await readOAuthRequest(exchange);
  const grantType = requiredGrantType(parameters);
  const { client, key } = await authenticateClient(services, authorization, exchange);
  requireMatchingClientId(parameters, client);
  requireClientCredentialsGrant(grantType);
  const scope = requestedScope(parameters, key);
  await services.limits.countTokenIssued(client.clientId, now);
  const lifetime = client.tokenTtlSeconds ?? services.options.tokenTtlSeconds;
  const issued = services.tokens.issue(key, scope, lifetime, now);
  services.keyUsage.touch(key.keyId, now);
  services.audit.count('tokens.issued', { clientId: client.clientId, keyId: key.keyId }, now);
  // RFC 6749 §5.1: exactly these members (`scope` only when it differs from the one asked for, which
  // never happens: a scope not granted in full is refused), and no caching of the response. Written
  // without JSON.stringify: the token is base64url and the lifetime an integer, so neither needs escaping.
  sendJsonText(
    res,
    200,
    `{"access_token":"${issued.accessToken}","token_type":"Bearer","expires_in":${issued.expiresIn}}`,
    NO_STORE,
  );
}

function requiredGrantType(parameters: TokenParameters): string {
  const grantType = parameters.get('grant_type');
  if (grantType !== undefined) return grantType;
  throw new PortcullisError('invalid_request', { message: 'The grant_type parameter is required.' });
}

/** A client_id parameter is not needed with Basic; when sent, it must name the authenticated client. */
function requireMatchingClientId(parameters: TokenParameters, client: ClientRecord): void {
  const bodyClientId = parameters.get('client_id');
  if (bodyClientId === undefined || bodyClientId === client.clientId) return;
  throw new PortcullisError('invalid_request', {
    message: 'The client_id parameter does not match the authenticated client.',
  });
}

/** RFC 6749 §3.3: at most the key's scope; omitted means all of it. */
function requestedScope(parameters: TokenParameters, key: ApiKeyRecord): KeyScope {
  const scope = grantedScope(parameters.get('scope'), key.scope);
  if (scope !== undefined) return scope;
  throw new PortcullisError('invalid_scope', { detail: `key ${key.keyId} has scope ${key.scope}` });
}

function requireClientCredentialsGrant(grantType: string): void {
  if (grantType === 'client_credentials') return;
  throw new PortcullisError('unsupported_grant_type');
}
