import { describe, expect, it } from 'vitest';
import { SecondChanceMap, UseMark } from '../src/bounded-map.js';
import type { ClientCredentials, ClientRecord } from '../src/domain/records.js';
import { AccessTokens } from '../src/keys/access-tokens.js';
import { CredentialDirectory } from '../src/keys/credential-directory.js';
import { ServerSecrets } from '../src/keys/server-secret.js';
import { apiKeyRecord } from './helpers/records.js';

/**
 * The directory holds one entry per client in use, the opened-token cache one per token in use (issue
 * 15, cost as the number of clients grows): each must stay bounded, keep what is in use when something
 * new comes in, and the directory answer exactly what the store holds, however compactly it holds it.
 */
function clientRecord(clientId: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId,
    name: `Client ${clientId}`,
    status: 'active',
    tokenTtlSeconds: null,
    rateLimits: null,
    profile: {},
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    deletedAt: null,
    ...overrides,
  };
}

function credentialsOf(clientId: string, keyCount = 1, revokedTokenIds: string[] = []): ClientCredentials {
  return {
    client: clientRecord(clientId),
    keys: Array.from({ length: keyCount }, (_, i) =>
      apiKeyRecord({ keyId: `${clientId}-key-${i}`, clientId, keyHash: `${clientId}-hash-${i}` }),
    ),
    revokedTokenIds,
  };
}

/** A store of `clients` that counts its reads per ClientId. */
function countingStore(clients: Map<string, ClientCredentials>) {
  const reads = new Map<string, number>();
  return {
    reads,
    totalReads: () => [...reads.values()].reduce((sum, n) => sum + n, 0),
    async getClientCredentials(clientId: string) {
      reads.set(clientId, (reads.get(clientId) ?? 0) + 1);
      // A copy, as a store reads its rows anew each time.
      const stored = clients.get(clientId);
      return stored && (structuredClone(stored) as ClientCredentials);
    },
  };
}

const anyEntry = () => true;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SecondChanceMap', () => {
  const value = (used: boolean) => {
    const marked = new UseMark();
    if (used) marked.markUsed();
    return marked;
  };

  it('never holds more than its bound', () => {
    const map = new SecondChanceMap<number, UseMark>(10);
    for (let i = 0; i < 1000; i++) map.set(i, value(false));
    expect(map.size).toBe(10);
    expect([...map.entries()]).toHaveLength(10);
  });

  it('evicts an entry not used since the hand last passed before one that was', () => {
    const map = new SecondChanceMap<string, UseMark>(3);
    map.set('a', value(false));
    map.set('b', value(false));
    map.set('c', value(false));
    map.get('a')?.markUsed();
    map.set('d', value(false));
    expect(['a', 'b', 'c', 'd'].filter((key) => map.has(key))).toEqual(['a', 'c', 'd']);
  });

  it('queues an entry passed over behind the entries inserted before, so that each waits its turn', () => {
    const map = new SecondChanceMap<string, UseMark>(3);
    for (const key of ['a', 'b', 'c']) map.set(key, value(true));
    // Every mark is spent in one round, in queue order; then the oldest goes.
    map.set('d', value(false));
    expect(['a', 'b', 'c', 'd'].filter((key) => map.has(key))).toEqual(['b', 'c', 'd']);
    map.get('d')?.markUsed();
    map.set('e', value(false));
    map.set('f', value(false));
    // b and c had been queued before d; d, used, waits behind e.
    expect(['b', 'c', 'd', 'e', 'f'].filter((key) => map.has(key))).toEqual(['d', 'e', 'f']);
    map.set('g', value(false));
    expect(['d', 'e', 'f', 'g'].filter((key) => map.has(key))).toEqual(['d', 'f', 'g']);
  });

  it('evicts something even when every entry was used, after a bounded number of steps', () => {
    const map = new SecondChanceMap<number, UseMark>(100);
    for (let i = 0; i < 100; i++) map.set(i, value(true));
    map.set(100, value(false));
    expect(map.size).toBe(100);
    expect(map.has(100)).toBe(true);
  });

  it('keeps its hand through deletions and replacements', () => {
    const map = new SecondChanceMap<number, UseMark>(5);
    for (let i = 0; i < 5; i++) map.set(i, value(false));
    map.set(5, value(false)); // the hand is now past 0
    map.delete(1);
    map.delete(2);
    map.set(3, value(false)); // replaced in place, no eviction
    map.set(6, value(false));
    map.set(7, value(false));
    expect(map.size).toBe(5);
    expect(map.has(7)).toBe(true);
  });
});

describe('CredentialDirectory', () => {
  it('answers what the store holds: the client, its keys by hash and by id, its revoked tokens', async () => {
    const stored = new Map([
      ['one', credentialsOf('one', 1)],
      ['few', credentialsOf('few', 3, ['tok_1'])],
      ['many', credentialsOf('many', 20)],
    ]);
    const directory = new CredentialDirectory(countingStore(stored), 1000);
    for (const [clientId, credentials] of stored) {
      const entry = await directory.lookup(clientId, anyEntry);
      expect(entry?.client).toEqual(credentials.client);
      expect(entry?.keysByHash.size).toBe(credentials.keys.length);
      expect(entry?.keysById.size).toBe(credentials.keys.length);
      for (const key of credentials.keys) {
        expect(entry?.keysByHash.get(key.keyHash)).toEqual(key);
        expect(entry?.keysById.get(key.keyId)).toEqual(key);
        expect(entry?.keysByHash.has(key.keyId)).toBe(false);
        expect(entry?.keysById.has(key.keyHash)).toBe(false);
      }
      expect(entry?.keysByHash.get('unknown')).toBeUndefined();
      expect(new Map(entry?.keysById)).toEqual(new Map(credentials.keys.map((key) => [key.keyId, key])));
      expect([...(entry?.revokedTokenIds ?? [])]).toEqual(credentials.revokedTokenIds);
    }
    expect(await directory.lookup('nobody', anyEntry)).toBeNull();
  });

  it('keeps the clients in use when others come and go past its bound, reading each once', async () => {
    const stored = new Map(
      Array.from({ length: 1000 }, (_, i) => [`c${i}`, credentialsOf(`c${i}`)] as const),
    );
    const store = countingStore(stored);
    const directory = new CredentialDirectory(store, 1000, 100);
    const active = Array.from({ length: 90 }, (_, i) => `c${i}`);
    for (const clientId of active) await directory.lookup(clientId, anyEntry);
    // Each round, every active client calls, and a client never seen before calls once.
    for (let round = 0; round < 200; round++) {
      for (const clientId of active) await directory.lookup(clientId, anyEntry);
      await directory.lookup(`c${100 + round}`, anyEntry);
    }
    expect(directory.size).toBeLessThanOrEqual(100);
    // Inserted-oldest-first eviction would drop the active clients in turn and read them again.
    for (const clientId of active) expect(store.reads.get(clientId)).toBe(1);
    expect(store.totalReads()).toBe(90 + 200);
  });

  it('reads a client again after its change is announced', async () => {
    const stored = new Map([['acme', credentialsOf('acme')]]);
    const store = countingStore(stored);
    const directory = new CredentialDirectory(store, 1000);
    await directory.lookup('acme', anyEntry);
    await directory.lookup('ghost', anyEntry);
    await sleep(110); // past the read-through interval
    await directory.lookup('acme', anyEntry);
    expect(store.reads.get('acme')).toBe(1);
    // A ClientId held as unknown is read through (at most once per interval): it may have been created.
    await directory.lookup('ghost', anyEntry);
    expect(store.reads.get('ghost')).toBe(2);
    stored.set('acme', { ...credentialsOf('acme'), client: clientRecord('acme', { status: 'disabled' }) });
    directory.invalidate(['acme']);
    expect((await directory.lookup('acme', anyEntry))?.client.status).toBe('disabled');
    expect(store.reads.get('acme')).toBe(2);
  });

  it('reads through a miss at most once per interval, however long the directory has run', async () => {
    const stored = new Map([['acme', credentialsOf('acme')]]);
    const store = countingStore(stored);
    const directory = new CredentialDirectory(store, 1000);
    const hasNewKey = (entry: { keysById: ReadonlyMap<string, unknown> }) => entry.keysById.has('new');
    await directory.lookup('acme', anyEntry);
    // Within the interval of the first read: answered from memory.
    await directory.lookup('acme', hasNewKey);
    expect(store.reads.get('acme')).toBe(1);
    for (let i = 2; i <= 4; i++) {
      await sleep(110);
      await directory.lookup('acme', hasNewKey);
      await directory.lookup('acme', hasNewKey);
      expect(store.reads.get('acme')).toBe(i);
    }
  });
});

describe('AccessTokens opened-token cache', () => {
  it('keeps the tokens in use opened when others come and go past its bound', () => {
    const tokens = new AccessTokens({
      directory: { lookup: async () => null },
      secrets: new ServerSecrets([Buffer.alloc(32, 7)], 'the test'),
      environment: 'sandbox',
      maxCachedTokens: 100,
    });
    const now = Date.now();
    const issue = (i: number) =>
      tokens.issue(apiKeyRecord({ keyId: `key_${i}`, clientId: `client-${i}` }), 'read', 3600, now)
        .accessToken;
    const active = Array.from({ length: 90 }, (_, i) => issue(i));
    // The claims object stands for one decryption: the same object back means no second one.
    const opened = active.map((token) => tokens.open(token));
    for (let round = 0; round < 200; round++) {
      for (const [i, token] of active.entries()) expect(tokens.open(token)).toBe(opened[i]);
      expect(tokens.open(issue(1000 + round))?.clientId).toBe(`client-${1000 + round}`);
    }
  });
});
