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
 * At most one read-through per client in this many milliseconds. One read costs about 40 µs on SQLite and
 * 330 µs on PostgreSQL (median, bench/read-through.js), so a client under a flood of wrong keys costs at
 * most 10 reads a second, about what the change feed's polling costs. A new key is refused only when
 * another miss for its client read the store in the 100 ms before its first use but before its write:
 * a script's own earlier calls cannot cause that (a CLI run alone takes longer), and the change feed then
 * applies the key within its poll, as without the read-through.
 */
const READ_THROUGH_INTERVAL_MS = 100;

/**
 * An in-memory view of clients and their keys, so that an authenticated request costs no store round
 * trip. Entries load on first use (concurrent misses share one load), unknown ClientIds are remembered
 * too, and `invalidate` drops entries when the store reports a change, from this process or another.
 * A credential that the entry lacks is looked for in the store before it is refused (`lookup`), so that
 * a key written a moment ago works before the change feed says so.
 */
export class CredentialDirectory {
  readonly #store: Store;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, DirectoryEntry | null>();
  /** In-flight loads. Invalidation removes a load from here, so that its stale result is not cached. */
  readonly #loading = new Map<string, Promise<DirectoryEntry | null>>();
  /** When the latest load of each client began (`performance.now()`, which tests' clocks leave alone). */
  readonly #loadStarted = new Map<string, number>();

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
   * The client's entry, when it `satisfies` the request. When the client is missing or does not satisfy
   * it, the client is read from the store again (the entry then replaces the cached one), so that what a
   * writer acknowledged before the request is found before the change feed says so. Bounded: a miss joins
   * a read in flight for the client, and a client is read again at most once per interval; a miss within
   * it is answered from memory, as before (the change feed still applies the change within its poll).
   */
  async lookup(
    clientId: string,
    satisfies: (entry: DirectoryEntry) => boolean,
  ): Promise<DirectoryEntry | null> {
    const since = performance.now();
    const cached = await this.#get(clientId);
    if (cached !== null && satisfies(cached)) return cached;
    return this.#readSince(clientId, since);
  }

  invalidate(clientIds: Iterable<string>): void {
    for (const clientId of clientIds) {
      this.#entries.delete(clientId);
      this.#loading.delete(clientId);
    }
  }

  /**
   * The client with its keys, or null when no such client exists. Fails closed: when the store cannot be
   * read, or changes have not been readable for longer than `maxStalenessMs` (a revocation could be
   * missed), it refuses with 503 instead of answering from what may be out of date.
   */
  #get(clientId: string): DirectoryEntry | null | Promise<DirectoryEntry | null> {
    if (this.#staleSince !== undefined && Date.now() - this.#staleSince > this.#maxStalenessMs) {
      throw unavailable('store_unavailable', 'changes could not be read for too long');
    }
    const cached = this.#entries.get(clientId);
    if (cached !== undefined) return cached;
    return this.#loading.get(clientId) ?? this.#load(clientId);
  }

  /**
   * The client's entry from a load begun at or after `since`, or, when the client was read less than the
   * interval ago, from the load in flight or what is cached.
   */
  #readSince(clientId: string, since: number): DirectoryEntry | null | Promise<DirectoryEntry | null> {
    const started = this.#loadStarted.get(clientId) ?? Number.NEGATIVE_INFINITY;
    // Often the load that `#get` just made; if it has been invalidated since, `#get` loads anew.
    if (started >= since) return this.#get(clientId);
    const inFlight = this.#loading.get(clientId);
    if (inFlight !== undefined) return inFlight;
    if (performance.now() - started < READ_THROUGH_INTERVAL_MS) return this.#get(clientId);
    return this.#load(clientId);
  }

  /** Reads the client from the store and caches it, unless invalidated meanwhile or superseded. */
  #load(clientId: string): Promise<DirectoryEntry | null> {
    setBounded(this.#loadStarted, clientId, performance.now(), this.#maxEntries);
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
}

function toEntry(credentials: ClientCredentials): DirectoryEntry {
  return {
    client: credentials.client,
    keysByHash: new Map(credentials.keys.map((key) => [key.keyHash, key])),
    keysById: new Map(credentials.keys.map((key) => [key.keyId, key])),
    revokedTokenIds: new Set(credentials.revokedTokenIds),
  };
}
