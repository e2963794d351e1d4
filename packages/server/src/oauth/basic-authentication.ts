import type { ApiKeyRejection, ApiKeyVerification, ApiKeyVerifier } from '../keys/verify-api-key.js';
import { parseBasicAuthorization } from './basic-credentials.js';
import { ConnectionMemo } from './connection-memo.js';

export type BasicAuthentication =
  | Extract<ApiKeyVerification, { ok: true }>
  | { readonly ok: false; readonly reason: ApiKeyRejection | string; readonly clientId?: string };

/** The last Basic header each connection had verified: a repeat skips base64, UTF-8 and the HMAC. */
const verifiedOnConnection = new ConnectionMemo<{ readonly clientId: string; readonly keyHash: string }>();

/** `Authorization: Basic base64(ClientId:ApiKey)` (RFC 7617, RFC 6749 §2.3.1), checked against the keys. */
export async function authenticateBasic(
  apiKeys: ApiKeyVerifier,
  authorization: string,
  connection: object,
  now: number,
): Promise<BasicAuthentication> {
  const previous = verifiedOnConnection.get(connection, authorization);
  if (previous !== undefined) return apiKeys.check(previous.clientId, previous.keyHash, now);
  const parsed = parseBasicAuthorization(authorization);
  if (!parsed.ok) return parsed;
  const { clientId, secret } = parsed.credentials;
  const hashed = apiKeys.hash(secret);
  if (!hashed.ok) return { ok: false, reason: hashed.reason, clientId };
  const result = await apiKeys.check(clientId, hashed.keyHash, now);
  if (result.ok) verifiedOnConnection.set(connection, authorization, { clientId, keyHash: hashed.keyHash });
  return result.ok ? result : { ok: false, reason: result.reason, clientId };
}
