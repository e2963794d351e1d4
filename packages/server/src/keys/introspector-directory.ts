import { setBounded } from '../bounded-map.js';
import type { IntrospectorRecord } from '../domain/records.js';
import { unavailable } from '../errors.js';
import type { Store } from '../store/store.js';
import type { CredentialRehashes } from './credential-rehashes.js';
import type { HashedKey } from './verify-api-key.js';

/** Keys presented to the introspection endpoint, valid or not: bounded, oldest dropped first. */
const MAX_CACHED_INTROSPECTORS = 1000;

interface Cached {
  readonly introspector: IntrospectorRecord | undefined;
  readonly loadedAt: number;
}

/**
 * Introspection credentials, looked up by the HMAC of the presented key. Few and rarely changed, they
 * are cached for at most `maxAgeMs`, the same bound as a revoked client key, so that a revoked
 * introspector stops within it on every node without a change feed of its own.
 */
export class IntrospectorDirectory {
  readonly #store: Store;
  readonly #maxAgeMs: number;
  readonly #cache = new Map<string, Cached>();
  readonly #rehashes: CredentialRehashes;

  /** @param rehashes where a key found under an older server secret is queued to move to the current one */
  constructor(store: Store, maxAgeMs: number, rehashes: CredentialRehashes) {
    this.#store = store;
    this.#maxAgeMs = maxAgeMs;
    this.#rehashes = rehashes;
  }

  /** The active introspector `name` whose key is `hashed`, or undefined. */
  async find(name: string, hashed: HashedKey, now: number): Promise<IntrospectorRecord | undefined> {
    let cached = this.#cache.get(hashed.keyHash);
    if (cached === undefined || now - cached.loadedAt > this.#maxAgeMs) {
      let introspector: IntrospectorRecord | undefined;
      try {
        introspector = await this.#load(hashed);
      } catch (error) {
        throw unavailable('store_unavailable', error);
      }
      cached = { introspector, loadedAt: now };
      setBounded(this.#cache, hashed.keyHash, cached, MAX_CACHED_INTROSPECTORS);
    }
    const found = cached.introspector;
    if (found === undefined || found.name !== name || found.revokedAt !== null) return undefined;
    if (found.keyHash !== hashed.keyHash) {
      this.#rehashes.add({ kind: 'introspector', id: name, fromHash: found.keyHash, toHash: hashed.keyHash });
    }
    return found;
  }

  /** By the current secret's HMAC, else by an older secret's (a rotation in progress). */
  async #load(hashed: HashedKey): Promise<IntrospectorRecord | undefined> {
    const introspector = await this.#store.findIntrospector(hashed.keyHash);
    if (introspector !== undefined) return introspector;
    for (const olderHash of hashed.olderHashes()) {
      const older = await this.#store.findIntrospector(olderHash);
      if (older !== undefined) return older;
    }
    return undefined;
  }
}
