import type { ApiKeyRejection, ApiKeyVerification, ApiKeyVerifier } from '../keys/verify-api-key.js';
import { parseBasicAuthorization } from './basic-credentials.js';

export type BasicAuthentication =
  | Extract<ApiKeyVerification, { ok: true }>
  | { readonly ok: false; readonly reason: ApiKeyRejection | string; readonly clientId?: string };

interface VerifiedOnConnection {
  readonly authorization: string;
  readonly clientId: string;
  readonly keyHash: string;
}

/**
 * The last Basic header each connection had verified. A keep-alive client that sends the same header
 * again skips decoding and the HMAC, but never the check of the key and client against the directory,
 * so revocation still applies at once. The header is only ever compared with what the same connection
 * sent before, never with another client's secret.
 */
const verifiedOnConnection = new WeakMap<object, VerifiedOnConnection>();

/** `Authorization: Basic base64(ClientId:ApiKey)` (RFC 7617, RFC 6749 §2.3.1), checked against the keys. */
export async function authenticateBasic(
  apiKeys: ApiKeyVerifier,
  authorization: string,
  connection: object,
  now: number,
): Promise<BasicAuthentication> {
  const previous = verifiedOnConnection.get(connection);
  if (previous !== undefined && previous.authorization === authorization) {
    return apiKeys.check(previous.clientId, previous.keyHash, now);
  }
  const parsed = parseBasicAuthorization(authorization);
  if (!parsed.ok) return parsed;
  const { clientId, secret } = parsed.credentials;
  const hashed = apiKeys.hash(secret);
  if (!hashed.ok) return { ok: false, reason: hashed.reason, clientId };
  const result = await apiKeys.check(clientId, hashed.keyHash, now);
  if (result.ok) verifiedOnConnection.set(connection, { authorization, clientId, keyHash: hashed.keyHash });
  return result.ok ? result : { ok: false, reason: result.reason, clientId };
}
