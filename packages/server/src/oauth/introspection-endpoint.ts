import type { IncomingMessage, ServerResponse } from 'node:http';
import { scopeString } from '../domain/scope.js';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import { sendJsonText } from '../wire/respond.js';
import { claimedClientId, parseBasicAuthorization } from './basic-credentials.js';
import { basicChallenge } from './challenges.js';
import { NO_STORE, readOAuthRequest, requiredTokenParameter } from './endpoint-steps.js';

const INACTIVE = '{"active":false}';

/**
 * `POST /v2.01/oauth/introspect` (RFC 7662): tells a resource server whether a token is active now, and
 * for whom. Only introspection credentials may ask (§2.1, and §4: otherwise the endpoint would let anyone
 * probe tokens); anyone else gets 401. An inactive token gets `{"active":false}` and nothing more (§2.2).
 */
export async function handleIntrospectionRequest(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  query: string,
  now: number,
): Promise<void> {
  const { parameters, authorization } = await readOAuthRequest(req, query);
  const token = requiredTokenParameter(parameters);
  await authenticateIntrospector(services, authorization, req, now);
  const claims = services.tokens.open(token);
  const result = claims === undefined ? undefined : await services.tokens.check(claims, now);
  if (!result?.ok) {
    sendJsonText(res, 200, INACTIVE, NO_STORE);
    return;
  }
  const body = {
    active: true,
    client_id: result.claims.clientId,
    scope: scopeString(result.claims.scope),
    token_type: 'Bearer',
    exp: Math.floor(result.claims.expiresAt / 1000),
    iat: Math.floor(result.claims.issuedAt / 1000),
  };
  sendJsonText(res, 200, JSON.stringify(body), NO_STORE);
}

async function authenticateIntrospector(
  services: Services,
  authorization: string,
  req: IncomingMessage,
  now: number,
): Promise<void> {
  const address = services.addressOf(req);
  await services.failedAuthentications.refuseIfBlocked(address, () => claimedClientId(authorization), now);
  const parsed = parseBasicAuthorization(authorization);
  const hashed = parsed.ok ? services.apiKeys.hash(parsed.credentials.secret) : undefined;
  const introspector =
    parsed.ok && hashed?.ok
      ? await services.introspectors.find(parsed.credentials.clientId, hashed.keyHash, now)
      : undefined;
  if (introspector !== undefined) return;
  const name = parsed.ok ? parsed.credentials.clientId : undefined;
  await services.failedAuthentications.record(address, name, now);
  throw new PortcullisError('invalid_client', {
    message: 'Only introspection credentials may use this endpoint.',
    detail: 'introspection refused: not an introspector',
    headers: { 'WWW-Authenticate': basicChallenge },
  });
}
