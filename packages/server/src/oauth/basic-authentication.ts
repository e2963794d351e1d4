import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { type Environment, wrongEnvironmentMessage } from '../domain/environment.js';
import { type ErrorCode, PortcullisError } from '../errors.js';
import { loggableClientId } from '../keys/client-id.js';
import type { ApiKeyRejection, ApiKeyVerification, ApiKeyVerifier } from '../keys/verify-api-key.js';
import type { FailedAuthentications } from '../limits/failed-authentications.js';
import type { Services } from '../services.js';
import { claimedClientId, parseBasicAuthorization } from './basic-credentials.js';
import { basicChallenge } from './challenges.js';
import { ConnectionMemo } from './connection-memo.js';

export type BasicAuthentication =
  | Extract<ApiKeyVerification, { ok: true }>
  | { readonly ok: false; readonly reason: ApiKeyRejection | string; readonly clientId?: string };

/** The last Basic header each connection had verified: a repeat skips base64, UTF-8 and the HMAC. */
const verifiedOnConnection = new ConnectionMemo<{ readonly clientId: string; readonly keyHash: string }>();

/**
 * `Authorization: Basic base64(ClientId:ApiKey)` (RFC 7617, RFC 6749 §2.3.1), checked against the keys.
 * An address past its failed-authentication limit is refused (429) before any check; every failure is
 * counted against the address and the ClientId it claimed.
 */
export async function authenticateBasic(
  {
    apiKeys,
    failedAuthentications: failures,
    addressOf,
  }: Pick<Services, 'apiKeys' | 'failedAuthentications' | 'addressOf'>,
  authorization: string,
  req: IncomingMessage,
  now: number,
): Promise<BasicAuthentication> {
  const connection = req.socket;
  const address = addressOf(req);
  const previous = verifiedOnConnection.get(connection, authorization);
  const result = previous
    ? await apiKeys.check(previous.clientId, previous.keyHash, now)
    : await verify(apiKeys, failures, authorization, connection, address, now);
  if (result.ok) return result;
  const clientId = previous?.clientId ?? ('clientId' in result ? result.clientId : undefined);
  await failures.record(address, clientId, now);
  return { ok: false, reason: result.reason, ...(clientId !== undefined && { clientId }) };
}

async function verify(
  apiKeys: ApiKeyVerifier,
  failures: FailedAuthentications,
  authorization: string,
  connection: Socket,
  address: string,
  now: number,
): Promise<BasicAuthentication> {
  await failures.refuseIfBlocked(address, () => claimedClientId(authorization), now);
  const parsed = parseBasicAuthorization(authorization);
  if (!parsed.ok) return parsed;
  const { clientId, secret } = parsed.credentials;
  const hashed = apiKeys.hash(secret);
  if (!hashed.ok) return { ok: false, reason: hashed.reason, clientId };
  const result = await apiKeys.check(clientId, hashed.keyHash, now);
  if (result.ok) verifiedOnConnection.set(connection, authorization, { clientId, keyHash: hashed.keyHash });
  return result.ok ? result : { ok: false, reason: result.reason, clientId };
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
