import type { Socket } from 'node:net';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';
import { PortcullisError } from '../errors.js';
import type { AccessTokenClaims, AccessTokens, TokenVerification } from '../keys/access-tokens.js';
import { authenticateBasic, basicRejection } from '../oauth/basic-authentication.js';
import { authorizationScheme, parseBearerAuthorization } from '../oauth/bearer-token.js';
import { basicChallenge, bearerChallenge } from '../oauth/challenges.js';
import { ConnectionMemo } from '../oauth/connection-memo.js';
import { checkUnderFailureLimits } from '../oauth/failure-limits.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
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

/** What authenticating an API request uses. */
export type AuthenticationServices = Pick<
  Services,
  'apiKeys' | 'tokens' | 'failedAuthentications' | 'options'
>;

/**
 * Authenticates an API request by `Authorization: Basic` (ClientId and API key on every call) or
 * `Authorization: Bearer` (a token from the token endpoint, RFC 6750 §2.1).
 */
export async function authenticateRequest(
  services: AuthenticationServices,
  exchange: Exchange,
): Promise<Principal> {
  rejectTokenInUrl(exchange.query);
  const authorization = singleHeader(exchange.req, 'authorization');
  if (authorization === undefined) {
    throw new PortcullisError('authentication_required', { headers: { 'WWW-Authenticate': CHALLENGES } });
  }
  const scheme = authorizationScheme(authorization);
  if (scheme === 'bearer') return authenticateBearer(services, authorization, exchange);
  if (scheme === 'basic') return authenticateWithApiKey(services, authorization, exchange);
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
  { tokens, failedAuthentications }: AuthenticationServices,
  authorization: string,
  { req, clientAddress, now }: Exchange,
): Promise<Principal> {
  const connection = req.socket;
  const opened = openedOnConnection.get(connection, authorization);
  const result = await checkUnderFailureLimits<Extract<TokenVerification, { ok: true }>>(
    failedAuthentications,
    clientAddress,
    now,
    // A token is refused before it is opened: its ClientId is sealed inside.
    opened === undefined ? () => undefined : undefined,
    async () => {
      const claims = opened ?? openToken(tokens, authorization, connection);
      if (claims === undefined) return { ok: false, reason: 'malformed' };
      // A token that opens under the server's seal was issued here: refused now, it has ended, and is
      // no one's guess.
      const checked = await tokens.check(claims, now);
      return checked.ok
        ? checked
        : { ok: false, reason: checked.reason, clientId: claims.clientId, ended: true };
    },
  );
  if (result.ok) {
    return { client: result.client, key: result.key, method: 'bearer', scope: result.claims.scope };
  }
  throw new PortcullisError('invalid_token', {
    detail: `bearer token rejected: ${result.reason}`,
    headers: { 'WWW-Authenticate': INVALID_TOKEN_CHALLENGE },
  });
}

function openToken(tokens: AccessTokens, authorization: string, connection: Socket) {
  const token = parseBearerAuthorization(authorization);
  const claims = token === undefined ? undefined : tokens.open(token);
  if (claims !== undefined) openedOnConnection.set(connection, authorization, claims);
  return claims;
}

async function authenticateWithApiKey(
  services: AuthenticationServices,
  authorization: string,
  { req, clientAddress, now }: Exchange,
): Promise<Principal> {
  const result = await authenticateBasic(services, authorization, req.socket, clientAddress, now);
  if (result.ok) return { client: result.client, key: result.key, method: 'basic', scope: result.key.scope };
  const code = result.reason === 'wrong_environment' ? 'wrong_environment' : 'invalid_credentials';
  throw basicRejection(code, result, services.options.environment);
}
