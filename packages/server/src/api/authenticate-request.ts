import type { IncomingMessage } from 'node:http';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';
import { PortcullisError } from '../errors.js';
import type { AccessTokenClaims } from '../oauth/access-tokens.js';
import { authenticateBasic, basicRejection } from '../oauth/basic-authentication.js';
import { authorizationScheme, parseBearerAuthorization } from '../oauth/bearer-token.js';
import { basicChallenge, bearerChallenge } from '../oauth/challenges.js';
import { ConnectionMemo } from '../oauth/connection-memo.js';
import type { Services } from '../services.js';
import { singleHeader } from '../wire/request.js';

/** Who made an API request: handed to every protected handler, and the only way they learn it. */
export interface Principal {
  readonly client: ClientRecord;
  readonly key: ApiKeyRecord;
  readonly method: 'basic' | 'bearer';
  /** The key's scope (Basic) or the token's (Bearer), which may be narrower than its key's. */
  readonly scope: KeyScope;
}

/** Both methods MANGOPAY's API accepts, offered when no usable credentials were sent (RFC 7235 §4.1). */
const CHALLENGES = [bearerChallenge(), basicChallenge];

const INVALID_TOKEN_CHALLENGE = bearerChallenge({
  code: 'invalid_token',
  description: 'The access token is invalid or has expired',
});

/**
 * Authenticates an API request by `Authorization: Basic` (ClientId and API key on every call) or
 * `Authorization: Bearer` (a token from the token endpoint, RFC 6750 §2.1).
 */
export async function authenticateRequest(
  services: Services,
  req: IncomingMessage,
  query: string,
  now: number,
): Promise<Principal> {
  rejectTokenInUrl(query);
  const authorization = singleHeader(req, 'authorization');
  if (authorization === undefined) {
    throw new PortcullisError('authentication_required', { headers: { 'WWW-Authenticate': CHALLENGES } });
  }
  const scheme = authorizationScheme(authorization);
  if (scheme === 'bearer') return authenticateBearer(services, authorization, req, now);
  if (scheme === 'basic') return authenticateWithApiKey(services, authorization, req, now);
  throw new PortcullisError('authentication_required', {
    message: 'Use Basic or Bearer authentication.',
    detail: 'unsupported authorization scheme',
    headers: { 'WWW-Authenticate': CHALLENGES },
  });
}

/** RFC 6750 §2.3 allows a token in the query; we do not, since URLs end up in logs (§5.3). */
function rejectTokenInUrl(query: string): void {
  if (!query.includes('access_token') || !new URLSearchParams(query).has('access_token')) return;
  throw new PortcullisError('invalid_request', {
    message: 'Send the access token in the Authorization header, never in the URL.',
  });
}

/** The last Bearer header each connection had opened: a repeat skips parsing and decryption. */
const openedOnConnection = new ConnectionMemo<AccessTokenClaims>();

async function authenticateBearer(
  services: Services,
  authorization: string,
  req: IncomingMessage,
  now: number,
): Promise<Principal> {
  const connection = req.socket;
  const address = services.addressOf(req);
  let claims = openedOnConnection.get(connection, authorization);
  if (claims === undefined) {
    await services.failedAuthentications.refuseIfBlocked(address, () => undefined, now);
    const token = parseBearerAuthorization(authorization);
    claims = token === undefined ? undefined : services.tokens.open(token);
    if (claims !== undefined) openedOnConnection.set(connection, authorization, claims);
  }
  const result = claims === undefined ? undefined : await services.tokens.check(claims, now);
  if (result?.ok) {
    return { client: result.client, key: result.key, method: 'bearer', scope: result.claims.scope };
  }
  await services.failedAuthentications.record(address, claims?.clientId, now);
  throw new PortcullisError('invalid_token', {
    detail: `bearer token rejected: ${result?.reason ?? 'malformed'}`,
    headers: { 'WWW-Authenticate': INVALID_TOKEN_CHALLENGE },
  });
}

async function authenticateWithApiKey(
  services: Services,
  authorization: string,
  req: IncomingMessage,
  now: number,
): Promise<Principal> {
  const result = await authenticateBasic(services, authorization, req, now);
  if (result.ok) return { client: result.client, key: result.key, method: 'basic', scope: result.key.scope };
  const code = result.reason === 'wrong_environment' ? 'wrong_environment' : 'invalid_credentials';
  throw basicRejection(code, result, services.options.environment);
}
