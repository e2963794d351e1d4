import type { Environment } from '../domain/environment.js';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import { isKeyUsable } from '../domain/records.js';
import { hashApiKey, parseApiKey } from './api-key.js';
import { isValidClientId } from './client-id.js';
import type { CredentialDirectory } from './credential-directory.js';

export type ApiKeyRejection =
  | 'malformed_key'
  | 'wrong_environment'
  | 'unknown_client'
  | 'unknown_key'
  | 'key_revoked_or_expired'
  | 'client_disabled';

export type ApiKeyVerification =
  | { readonly ok: true; readonly client: ClientRecord; readonly key: ApiKeyRecord }
  | { readonly ok: false; readonly reason: ApiKeyRejection };

export interface ApiKeyVerifierOptions {
  readonly directory: CredentialDirectory;
  readonly serverSecret: Buffer;
  readonly environment: Environment;
}

/**
 * Checks a ClientId and API key pair. A key of the wrong shape or checksum is refused before any lookup.
 * Otherwise the HMAC is always computed and the lookup is by that digest, so that an unknown ClientId and
 * a wrong key cost the same work, and no secret is compared byte by byte.
 */
export class ApiKeyVerifier {
  readonly #options: ApiKeyVerifierOptions;

  constructor(options: ApiKeyVerifierOptions) {
    this.#options = options;
  }

  /** The stored form of a presented key, or why it was refused before any lookup. */
  hash(
    apiKey: string,
  ):
    | { readonly ok: true; readonly keyHash: string }
    | { readonly ok: false; readonly reason: ApiKeyRejection } {
    const parsed = parseApiKey(apiKey);
    if (!parsed.ok) return { ok: false, reason: 'malformed_key' };
    if (parsed.environment !== this.#options.environment) return { ok: false, reason: 'wrong_environment' };
    return { ok: true, keyHash: hashApiKey(this.#options.serverSecret, apiKey) };
  }

  /**
   * Looks up a hashed key: it must belong to `clientId`, be usable now, and the client be active. A key
   * or client not in memory, or a client disabled in memory, is looked for in the store before it is
   * refused (`CredentialDirectory.lookup`).
   */
  async check(clientId: string, keyHash: string, now: number): Promise<ApiKeyVerification> {
    if (!isValidClientId(clientId)) return { ok: false, reason: 'unknown_client' };
    // A disabled client is read again too, so that one enabled a moment ago works at once.
    const entry = await this.#options.directory.lookup(
      clientId,
      (e) => e.client.status === 'active' && e.keysByHash.has(keyHash),
    );
    if (entry === null) return { ok: false, reason: 'unknown_client' };
    const key = entry.keysByHash.get(keyHash);
    if (key === undefined) return { ok: false, reason: 'unknown_key' };
    if (!isKeyUsable(key, now)) return { ok: false, reason: 'key_revoked_or_expired' };
    if (entry.client.status !== 'active') return { ok: false, reason: 'client_disabled' };
    return { ok: true, client: entry.client, key };
  }
}
