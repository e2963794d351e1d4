import { setBounded } from '../bounded-map.js';
import type { IntrospectorRecord } from '../domain/records.js';
import { unavailable } from '../errors.js';
import type { Store } from '../store/store.js';

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

  constructor(store: Store, maxAgeMs: number) {
    this.#store = store;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The active introspector `name` whose key hashes to `keyHash`, or undefined. */
  async find(name: string, keyHash: string, now: number): Promise<IntrospectorRecord | undefined> {
    let cached = this.#cache.get(keyHash);
    if (cached === undefined || now - cached.loadedAt > this.#maxAgeMs) {
      let introspector: IntrospectorRecord | undefined;
      try {
        introspector = await this.#store.findIntrospector(keyHash);
      } catch (error) {
        throw unavailable('store_unavailable', error);
      }
      cached = { introspector, loadedAt: now };
      setBounded(this.#cache, keyHash, cached, MAX_CACHED_INTROSPECTORS);
    }
    const found = cached.introspector;
    return found !== undefined && found.name === name && found.revokedAt === null ? found : undefined;
  }
}
