import type { Environment } from '../domain/environment.js';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import { isKeyUsable } from '../domain/records.js';
import { hashApiKey, parseApiKey } from './api-key.js';
import { isValidClientId } from './client-id.js';
import type { CredentialDirectory } from './credential-directory.js';
import type { CredentialRehashes } from './credential-rehashes.js';
import type { ServerSecrets } from './server-secret.js';

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

/**
 * A presented key's HMAC under the current server secret (what it is stored as from now on), and, computed
 * only when that is not found, under each older secret of a rotation in progress.
 */
export interface HashedKey {
  readonly keyHash: string;
  olderHashes(): readonly string[];
}

export interface ApiKeyVerifierOptions {
  readonly directory: CredentialDirectory;
  readonly secrets: ServerSecrets;
  readonly environment: Environment;
  /** Where a key found under an older secret is queued to be stored under the current one. */
  readonly rehashes: CredentialRehashes;
}

const NO_OLDER_HASHES = (): readonly string[] => [];

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

  /**
   * The stored form of a presented key, or why it was refused before any lookup. One HMAC, under the
   * current secret; the older secrets' are computed only if a lookup misses.
   */
  hash(
    apiKey: string,
  ): ({ readonly ok: true } & HashedKey) | { readonly ok: false; readonly reason: ApiKeyRejection } {
    const parsed = parseApiKey(apiKey);
    if (!parsed.ok) return { ok: false, reason: 'malformed_key' };
    if (parsed.environment !== this.#options.environment) return { ok: false, reason: 'wrong_environment' };
    const [current, ...older] = this.#options.secrets.all as [Buffer, ...Buffer[]];
    const keyHash = hashApiKey(current, apiKey);
    if (older.length === 0) return { ok: true, keyHash, olderHashes: NO_OLDER_HASHES };
    let olderHashes: readonly string[] | undefined;
    return {
      ok: true,
      keyHash,
      olderHashes: () => {
        olderHashes ??= older.map((secret) => hashApiKey(secret, apiKey));
        return olderHashes;
      },
    };
  }

  /**
   * Looks up a hashed key: it must belong to `clientId`, be usable now, and the client be active. A key
   * or client not in memory, or a client disabled in memory, is looked for in the store before it is
   * refused (`CredentialDirectory.lookup`). A key found under an older secret is queued to be stored
   * under the current one.
   */
  async check(clientId: string, hashed: HashedKey, now: number): Promise<ApiKeyVerification> {
    if (!isValidClientId(clientId)) return { ok: false, reason: 'unknown_client' };
    // A disabled client is read again too, so that one enabled a moment ago works at once.
    const entry = await this.#options.directory.lookup(
      clientId,
      (e) => e.client.status === 'active' && findKey(e.keysByHash, hashed) !== undefined,
    );
    if (entry === null) return { ok: false, reason: 'unknown_client' };
    const key = findKey(entry.keysByHash, hashed);
    if (key === undefined) return { ok: false, reason: 'unknown_key' };
    if (!isKeyUsable(key, now)) return { ok: false, reason: 'key_revoked_or_expired' };
    if (entry.client.status !== 'active') return { ok: false, reason: 'client_disabled' };
    if (key.keyHash !== hashed.keyHash) {
      const rehash = { kind: 'key', id: key.keyId, fromHash: key.keyHash, toHash: hashed.keyHash } as const;
      this.#options.rehashes.add(rehash, clientId);
    }
    return { ok: true, client: entry.client, key };
  }
}

/** The key stored under the current secret's HMAC, else under an older secret's. */
function findKey(keys: ReadonlyMap<string, ApiKeyRecord>, hashed: HashedKey): ApiKeyRecord | undefined {
  const key = keys.get(hashed.keyHash);
  if (key !== undefined) return key;
  for (const olderHash of hashed.olderHashes()) {
    const older = keys.get(olderHash);
    if (older !== undefined) return older;
  }
  return undefined;
}
