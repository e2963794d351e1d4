import type { Socket } from 'node:net';
import { type Environment, wrongEnvironmentMessage } from '../domain/environment.js';
import { type ErrorCode, PortcullisError } from '../errors.js';
import { loggableClientId } from '../keys/client-id.js';
import type {
  ApiKeyRejection,
  ApiKeyVerification,
  ApiKeyVerifier,
  HashedKey,
} from '../keys/verify-api-key.js';
import type { Services } from '../services.js';
import { claimedClientId, parseBasicAuthorization } from './basic-credentials.js';
import { basicChallenge } from './challenges.js';
import { ConnectionMemo } from './connection-memo.js';
import { type CredentialCheck, checkUnderFailureLimits } from './failure-limits.js';

export type BasicAuthentication = CredentialCheck<Extract<ApiKeyVerification, { ok: true }>>;

/** The last Basic header each connection had verified: a repeat skips base64, UTF-8 and the HMAC. */
const verifiedOnConnection = new ConnectionMemo<{ readonly clientId: string; readonly hashed: HashedKey }>();

/**
 * `Authorization: Basic base64(ClientId:ApiKey)` (RFC 7617, RFC 6749 §2.3.1), checked against the keys
 * under the failed-authentication limits (`checkUnderFailureLimits`).
 */
export function authenticateBasic(
  { apiKeys, failedAuthentications }: Pick<Services, 'apiKeys' | 'failedAuthentications'>,
  authorization: string,
  connection: Socket,
  address: string,
  now: number,
): Promise<BasicAuthentication> {
  const previous = verifiedOnConnection.get(connection, authorization);
  if (previous !== undefined) {
    return checkUnderFailureLimits(failedAuthentications, address, now, undefined, async () =>
      withClientId(await apiKeys.check(previous.clientId, previous.hashed, now), previous.clientId),
    );
  }
  return checkUnderFailureLimits(
    failedAuthentications,
    address,
    now,
    () => claimedClientId(authorization),
    () => verify(apiKeys, authorization, connection, now),
  );
}

async function verify(
  apiKeys: ApiKeyVerifier,
  authorization: string,
  connection: Socket,
  now: number,
): Promise<BasicAuthentication> {
  const parsed = parseBasicAuthorization(authorization);
  if (!parsed.ok) return parsed;
  const { clientId, secret } = parsed.credentials;
  const hashed = apiKeys.hash(secret);
  if (!hashed.ok) return { ok: false, reason: hashed.reason, clientId };
  const result = await apiKeys.check(clientId, hashed, now);
  if (result.ok) verifiedOnConnection.set(connection, authorization, { clientId, hashed });
  return withClientId(result, clientId);
}

/** Rejections of a key that matched: it was right once, so its refusal is not counted as a guess. */
const ENDED: ReadonlySet<ApiKeyRejection> = new Set(['key_revoked_or_expired', 'client_disabled']);

function withClientId(result: ApiKeyVerification, clientId: string): BasicAuthentication {
  return result.ok ? result : { ok: false, reason: result.reason, clientId, ended: ENDED.has(result.reason) };
}

/**
 * The error for a refused Basic authentication: the wire never says which of ClientId and key was wrong
 * (except a key of the other environment, which says so); the log detail does, without either secret.
 */
export function basicRejection(
  code: ErrorCode,
  result: Extract<BasicAuthentication, { ok: false }>,
  environment: Environment,
): PortcullisError {
  return new PortcullisError(code, {
    ...(result.reason === 'wrong_environment' && { message: wrongEnvironmentMessage(environment) }),
    detail: `${result.reason} for client ${loggableClientId(result.clientId ?? '')}`,
    headers: { 'WWW-Authenticate': basicChallenge },
  });
}
