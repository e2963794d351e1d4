import { SecondChanceMap, UseMark } from '../bounded-map.js';
import { environments } from '../domain/environment.js';
import type { ApiKeyRecord, ClientCredentials, ClientRecord, ClientStatus } from '../domain/records.js';
import { keyScopes } from '../domain/scope.js';
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
 * How many clients the directory holds. An entry holds its client's records, about 660 bytes for a
 * client with one key (measured from the heap; bench/many-clients.js --heap-snapshots shows where), so
 * the bound costs at most about 330 MB and keeps 500,000 clients in use at once without store reads.
 * Past it, the entries not used since they were queued go first (`SecondChanceMap`): a working set within
 * the bound stays whole however many clients the store holds, and a flood of unknown ClientIds (held as
 * null, with no mark) evicts its own entries before any client in use. A client not held costs one
 * indexed read (about 40 µs on SQLite) on its next call.
 */
export const MAX_DIRECTORY_ENTRIES = 500_000;

/**
 * An in-memory view of clients and their keys, so that an authenticated request costs no store round
 * trip. Entries load on first use (concurrent misses share one load), unknown ClientIds are remembered
 * too, and `invalidate` drops entries when the store reports a change, from this process or another.
 * A credential that the entry lacks is looked for in the store before it is refused (`lookup`), so that
 * a key written a moment ago works before the change feed says so.
 */
export class CredentialDirectory {
  readonly #store: Pick<Store, 'getClientCredentials'>;
  /** Clients by ClientId; null for a ClientId the store does not hold. Used entries are marked. */
  readonly #entries: SecondChanceMap<string, CachedClient | null>;
  /** In-flight loads. Invalidation removes a load from here, so that its stale result is not cached. */
  readonly #loading = new Map<string, Promise<DirectoryEntry | null>>();
  /**
   * When the latest load of each client began (`performance.now()`, which tests' clocks leave alone), in
   * two generations of at most one interval each. `#readSince` treats a load that began more than an
   * interval ago as no load at all, so older ones are dropped rather than kept for every client.
   */
  #recentLoads = new Map<string, number>();
  #olderLoads = new Map<string, number>();
  #recentLoadsSince = Number.NEGATIVE_INFINITY;

  readonly #maxStalenessMs: number;
  #staleSince: number | undefined;

  /** @param maxStalenessMs how long cached entries may serve while changes cannot be read. */
  constructor(
    store: Pick<Store, 'getClientCredentials'>,
    maxStalenessMs: number,
    maxEntries = MAX_DIRECTORY_ENTRIES,
  ) {
    this.#store = store;
    this.#maxStalenessMs = maxStalenessMs;
    this.#entries = new SecondChanceMap(maxEntries);
  }

  /** How many clients (and unknown ClientIds) are held. */
  get size(): number {
    return this.#entries.size;
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
    if (cached === null) return null;
    if (cached !== undefined) {
      cached.markUsed();
      return cached;
    }
    return this.#loading.get(clientId) ?? this.#load(clientId);
  }

  /**
   * The client's entry from a load begun at or after `since`, or, when the client was read less than the
   * interval ago, from the load in flight or what is cached.
   */
  #readSince(clientId: string, since: number): DirectoryEntry | null | Promise<DirectoryEntry | null> {
    const started =
      this.#recentLoads.get(clientId) ?? this.#olderLoads.get(clientId) ?? Number.NEGATIVE_INFINITY;
    // Often the load that `#get` just made; if it has been invalidated since, `#get` loads anew.
    if (started >= since) return this.#get(clientId);
    const inFlight = this.#loading.get(clientId);
    if (inFlight !== undefined) return inFlight;
    if (performance.now() - started < READ_THROUGH_INTERVAL_MS) return this.#get(clientId);
    return this.#load(clientId);
  }

  /** Reads the client from the store and caches it, unless invalidated meanwhile or superseded. */
  #load(clientId: string): Promise<DirectoryEntry | null> {
    this.#noteLoadStarted(clientId, performance.now());
    const load = this.#store.getClientCredentials(clientId).then((credentials) => {
      const entry = credentials === undefined ? null : new CachedClient(credentials);
      if (this.#loading.get(clientId) === guarded) {
        this.#loading.delete(clientId);
        // Keyed by the store's string when it is the same ClientId: the one parsed from a request may
        // hold on to the whole header it was cut from.
        const key = entry !== null && entry.client.clientId === clientId ? entry.client.clientId : clientId;
        this.#entries.set(key, entry);
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

  #noteLoadStarted(clientId: string, at: number): void {
    if (at - this.#recentLoadsSince >= READ_THROUGH_INTERVAL_MS) {
      // Every load in the older generation began at least an interval ago: it no longer matters.
      this.#olderLoads = this.#recentLoads;
      this.#recentLoads = new Map();
      this.#recentLoadsSince = at;
    }
    this.#recentLoads.set(clientId, at);
  }
}

/**
 * Up to this many keys, a client's keys are found by a scan of one array (a few string comparisons)
 * rather than by two hash maps, which cost about 200 bytes each even for one key. Clients have a key or
 * two, and a key rotated out stays in the entry (marked revoked) until it is deleted.
 */
const MAX_SCANNED_KEYS = 8;

const CLIENT_STATUSES: readonly ClientStatus[] = ['active', 'disabled'];
/** Revoked tokens of the clients that have none, which is nearly all: one set instead of one each. */
const NO_REVOKED_TOKENS: ReadonlySet<string> = new Set();
/** Shared by the clients whose profile is empty, as every new client's is. Only ever read or spread. */
const EMPTY_PROFILE: ClientRecord['profile'] = Object.freeze({});

/**
 * A client as held: its records, its keys indexed by hash and by id, its revoked tokens, and whether it
 * was used since it was queued for eviction (`SecondChanceMap`). Compact, since one is held per client in
 * use: the values that repeat from client to client (status, environment, scope, the ClientId in each
 * key, an empty profile) are shared rather than held once per record as the store reads them.
 */
class CachedClient extends UseMark implements DirectoryEntry {
  readonly client: ClientRecord;
  readonly keysByHash: ReadonlyMap<string, ApiKeyRecord>;
  readonly keysById: ReadonlyMap<string, ApiKeyRecord>;
  readonly revokedTokenIds: ReadonlySet<string>;
  constructor({ client, keys, revokedTokenIds }: ClientCredentials) {
    super();
    this.client = sharedClientValues(client);
    const shared = keys.map((key) => sharedKeyValues(key, this.client.clientId));
    this.keysByHash = keyIndex(shared, 'keyHash');
    this.keysById = keyIndex(shared, 'keyId');
    this.revokedTokenIds = revokedTokenIds.length === 0 ? NO_REVOKED_TOKENS : new Set(revokedTokenIds);
  }
}

function keyIndex(keys: readonly ApiKeyRecord[], by: 'keyHash' | 'keyId'): ReadonlyMap<string, ApiKeyRecord> {
  if (keys.length === 1) return new ScannedKeys(keys[0] as ApiKeyRecord, by);
  return keys.length <= MAX_SCANNED_KEYS
    ? new ScannedKeys(keys, by)
    : new Map(keys.map((key) => [key[by], key]));
}

function sharedClientValues(client: ClientRecord): ClientRecord {
  return {
    ...client,
    status: shared(client.status, CLIENT_STATUSES),
    profile: isEmpty(client.profile) ? EMPTY_PROFILE : client.profile,
  };
}

function sharedKeyValues(key: ApiKeyRecord, clientId: string): ApiKeyRecord {
  return {
    ...key,
    clientId: key.clientId === clientId ? clientId : key.clientId,
    environment: shared(key.environment, environments),
    scope: shared(key.scope, keyScopes),
  };
}

/** The literal equal to `value`, which all records can share, or `value` itself. */
function shared<T extends string>(value: T, literals: readonly T[]): T {
  return literals.find((literal) => literal === value) ?? value;
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/**
 * A few keys found by scanning: a read-only map over the keys that both indexes share, the one key
 * itself when there is one (as for most clients), else an array.
 */
class ScannedKeys implements ReadonlyMap<string, ApiKeyRecord> {
  readonly #keys: ApiKeyRecord | readonly ApiKeyRecord[];
  readonly #by: 'keyHash' | 'keyId';

  constructor(keys: ApiKeyRecord | readonly ApiKeyRecord[], by: 'keyHash' | 'keyId') {
    this.#keys = keys;
    this.#by = by;
  }

  get size(): number {
    return isList(this.#keys) ? this.#keys.length : 1;
  }

  get(id: string): ApiKeyRecord | undefined {
    const keys = this.#keys;
    if (!isList(keys)) return keys[this.#by] === id ? keys : undefined;
    for (const key of keys) if (key[this.#by] === id) return key;
    return undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  forEach(callback: (key: ApiKeyRecord, id: string, map: ReadonlyMap<string, ApiKeyRecord>) => void): void {
    for (const key of this.values()) callback(key, key[this.#by], this);
  }

  *entries(): MapIterator<[string, ApiKeyRecord]> {
    for (const key of this.values()) yield [key[this.#by], key];
  }

  *keys(): MapIterator<string> {
    for (const key of this.values()) yield key[this.#by];
  }

  *values(): MapIterator<ApiKeyRecord> {
    if (isList(this.#keys)) yield* this.#keys;
    else yield this.#keys;
  }

  [Symbol.iterator](): MapIterator<[string, ApiKeyRecord]> {
    return this.entries();
  }
}

function isList(keys: ApiKeyRecord | readonly ApiKeyRecord[]): keys is readonly ApiKeyRecord[] {
  return Array.isArray(keys);
}
