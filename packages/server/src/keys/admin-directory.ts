import { setBounded } from '../bounded-map.js';
import type { AdminRecord } from '../domain/records.js';
import { unavailable } from '../errors.js';
import type { Store } from '../store/store.js';
import { parseAdminToken } from './admin-token.js';
import { hashApiKey } from './api-key.js';
import type { CredentialRehashes } from './credential-rehashes.js';
import type { ServerSecrets } from './server-secret.js';

/** Tokens presented to the admin listener, valid or not: bounded, oldest dropped first. */
const MAX_CACHED_ADMINS = 1000;

interface Cached {
  readonly admin: AdminRecord | undefined;
  readonly loadedAt: number;
}

/**
 * Admin credentials, looked up by the HMAC of the presented token, like `IntrospectorDirectory`. Few and
 * rarely changed, they are cached for at most `maxAgeMs`, so that a revoked admin is refused within that
 * bound on every node without a change feed of its own.
 */
export class AdminDirectory {
  readonly #store: Store;
  readonly #secrets: ServerSecrets;
  readonly #maxAgeMs: number;
  readonly #rehashes: CredentialRehashes;
  readonly #cache = new Map<string, Cached>();

  /** @param rehashes where a token found under an older server secret is queued to move to the current one */
  constructor(store: Store, secrets: ServerSecrets, maxAgeMs: number, rehashes: CredentialRehashes) {
    if (!Number.isFinite(maxAgeMs) || maxAgeMs < 0) {
      throw new RangeError('maxAgeMs must be a finite number of milliseconds, 0 or more');
    }
    this.#store = store;
    this.#secrets = secrets;
    this.#maxAgeMs = maxAgeMs;
    this.#rehashes = rehashes;
  }

  /**
   * The admin whose token is `token`, unless revoked. A token of the wrong shape or checksum is refused
   * before any lookup; otherwise one HMAC under the current secret, the older ones only on a miss.
   */
  async find(token: string, now: number): Promise<AdminRecord | undefined> {
    if (!parseAdminToken(token)) return undefined;
    const [current, ...older] = this.#secrets.all as [Buffer, ...Buffer[]];
    const keyHash = hashApiKey(current, token);
    let cached = this.#cache.get(keyHash);
    if (cached === undefined || now - cached.loadedAt > this.#maxAgeMs) {
      let admin: AdminRecord | undefined;
      try {
        admin = await this.#load(keyHash, () => older.map((secret) => hashApiKey(secret, token)));
      } catch (error) {
        throw unavailable('store_unavailable', error);
      }
      cached = { admin, loadedAt: now };
      setBounded(this.#cache, keyHash, cached, MAX_CACHED_ADMINS);
    }
    const found = cached.admin;
    if (found === undefined || found.revokedAt !== null) return undefined;
    if (found.keyHash !== keyHash) {
      this.#rehashes.add({ kind: 'admin', id: found.name, fromHash: found.keyHash, toHash: keyHash });
    }
    return found;
  }

  /** By the current secret's HMAC, else by an older secret's (a rotation in progress). */
  async #load(keyHash: string, olderHashes: () => string[]): Promise<AdminRecord | undefined> {
    const admin = await this.#store.findAdmin(keyHash);
    if (admin !== undefined) return admin;
    for (const olderHash of olderHashes()) {
      const older = await this.#store.findAdmin(olderHash);
      if (older !== undefined) return older;
    }
    return undefined;
  }
}
