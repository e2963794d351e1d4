import type { ApiKeyRecord, ClientCredentials, ClientRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export interface DirectoryEntry {
  readonly client: ClientRecord;
  readonly keysByHash: ReadonlyMap<string, ApiKeyRecord>;
  readonly keysById: ReadonlyMap<string, ApiKeyRecord>;
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

  constructor(store: Store, maxEntries = 100_000) {
    this.#store = store;
    this.#maxEntries = maxEntries;
  }

  /** The client with its keys, or null when no such client exists. */
  get(clientId: string): DirectoryEntry | null | Promise<DirectoryEntry | null> {
    const cached = this.#entries.get(clientId);
    if (cached !== undefined) return cached;
    const inFlight = this.#loading.get(clientId);
    if (inFlight !== undefined) return inFlight;
    const load = this.#store.getClientCredentials(clientId).then((credentials) => {
      const entry = credentials === undefined ? null : toEntry(credentials);
      if (this.#loading.get(clientId) === load) {
        this.#loading.delete(clientId);
        this.#remember(clientId, entry);
      }
      return entry;
    });
    load.catch(() => {
      if (this.#loading.get(clientId) === load) this.#loading.delete(clientId);
    });
    this.#loading.set(clientId, load);
    return load;
  }

  invalidate(clientIds: Iterable<string>): void {
    for (const clientId of clientIds) {
      this.#entries.delete(clientId);
      this.#loading.delete(clientId);
    }
  }

  #remember(clientId: string, entry: DirectoryEntry | null): void {
    if (this.#entries.size >= this.#maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(clientId, entry);
  }
}

function toEntry(credentials: ClientCredentials): DirectoryEntry {
  return {
    client: credentials.client,
    keysByHash: new Map(credentials.keys.map((key) => [key.keyHash, key])),
    keysById: new Map(credentials.keys.map((key) => [key.keyId, key])),
  };
}
