import { setBounded } from '../bounded-map.js';
import type { ApiKeyRecord, ClientCredentials, ClientRecord } from '../domain/records.js';
import { unavailable } from '../errors.js';
import type { Store } from '../store/store.js';

export interface DirectoryEntry {
  readonly client: ClientRecord;
  readonly keysByHash: ReadonlyMap<string, ApiKeyRecord>;
  readonly keysById: ReadonlyMap<string, ApiKeyRecord>;
  readonly revokedTokenIds: ReadonlySet<string>;
}

/**
 * An in-memory view of clients and their keys, so that an authenticated request costs no store round
 * trip. Entries load on first use (concurrent misses share one load), unknown ClientIds are remembered
 * too, and `invalidate` drops entries when the store reports a change, from this process or another.
 */
export class CredentialDirectory {
  readonly #store: Store;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, DirectoryEntry | null>();
  /** In-flight loads. Invalidation removes a load from here, so that its stale result is not cached. */
  readonly #loading = new Map<string, Promise<DirectoryEntry | null>>();

  readonly #maxStalenessMs: number;
  #staleSince: number | undefined;

  /** @param maxStalenessMs how long cached entries may serve while changes cannot be read. */
  constructor(store: Store, maxStalenessMs: number, maxEntries = 100_000) {
    this.#store = store;
    this.#maxStalenessMs = maxStalenessMs;
    this.#maxEntries = maxEntries;
  }

  /**
   * Marks what is cached as possibly stale, because changes could not be read since `since`, or as
   * current again (undefined).
   */
  setStaleSince(since: number | undefined): void {
    this.#staleSince = since;
  }

  /**
   * The client with its keys, or null when no such client exists. Fails closed: when the store cannot be
   * read, or changes have not been readable for longer than `maxStalenessMs` (a revocation could be
   * missed), it refuses with 503 instead of answering from what may be out of date.
   */
  get(clientId: string): DirectoryEntry | null | Promise<DirectoryEntry | null> {
    if (this.#staleSince !== undefined && Date.now() - this.#staleSince > this.#maxStalenessMs) {
      throw unavailable('store_unavailable', 'changes could not be read for too long');
    }
    const cached = this.#entries.get(clientId);
    if (cached !== undefined) return cached;
    const inFlight = this.#loading.get(clientId);
    if (inFlight !== undefined) return inFlight;
    const load = this.#store.getClientCredentials(clientId).then((credentials) => {
      const entry = credentials === undefined ? null : toEntry(credentials);
      if (this.#loading.get(clientId) === guarded) {
        this.#loading.delete(clientId);
        setBounded(this.#entries, clientId, entry, this.#maxEntries);
      }
      return entry;
    });
    const guarded = load.catch((error: unknown) => {
      if (this.#loading.get(clientId) === guarded) this.#loading.delete(clientId);
      throw unavailable('store_unavailable', error);
    });
    this.#loading.set(clientId, guarded);
    return guarded;
  }

  invalidate(clientIds: Iterable<string>): void {
    for (const clientId of clientIds) {
      this.#entries.delete(clientId);
      this.#loading.delete(clientId);
    }
  }
}

function toEntry(credentials: ClientCredentials): DirectoryEntry {
  return {
    client: credentials.client,
    keysByHash: new Map(credentials.keys.map((key) => [key.keyHash, key])),
    keysById: new Map(credentials.keys.map((key) => [key.keyId, key])),
    revokedTokenIds: new Set(credentials.revokedTokenIds),
  };
}
