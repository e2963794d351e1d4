import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { tempDataDir } from './helpers/harness.js';
import { apiKeyRecord } from './helpers/records.js';

/**
 * Key usage is the largest write a SQLite server makes: every key used in the last 5 s. With 100 000
 * active clients, written on the server's connection it held the event loop 4 to 6 ms per 500 keys, and
 * 19 to 27 ms whenever the commit ran a checkpoint (issue 15), which set the requests' p99. It runs in a
 * thread of its own instead.
 */
const T0 = Date.UTC(2026, 11, 1, 10, 0);

let dataDir: string;
let store: SqliteStore;

beforeAll(async () => {
  dataDir = tempDataDir();
  store = new SqliteStore(dataDir);
  await store.createClient({
    clientId: 'acme',
    name: 'Acme',
    tokenTtlSeconds: null,
    rateLimits: null,
    createdAt: T0,
  });
  await store.createApiKey(
    apiKeyRecord({ clientId: 'acme', keyId: 'key_a', keyHash: 'hash-a', createdAt: T0 }),
  );
});

afterAll(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('key usage on SQLite', () => {
  it('is written while the event loop goes on serving', async () => {
    // One large write: the key above among 300 000 ids, which the statement looks up one by one.
    const used = new Map<string, number>([['key_a', T0 + 5]]);
    for (let i = 0; i < 300_000; i++) used.set(`key_absent_${i}`, T0 + 5);
    let turns = 0;
    const ticker = setInterval(() => turns++, 1);
    const started = performance.now();
    try {
      await store.recordKeyUse(used);
    } finally {
      clearInterval(ticker);
    }
    const tookMs = performance.now() - started;
    expect((await store.findKeyByHash('hash-a'))?.lastUsedAt).toBe(T0 + 5);
    // On the loop's own connection the write is one synchronous statement: not a single turn during it.
    expect(tookMs).toBeGreaterThan(20);
    expect(turns).toBeGreaterThanOrEqual(5);
  });

  it('still writes after a store is closed and opened again, and moves a last use forward only', async () => {
    await store.close();
    store = new SqliteStore(dataDir);
    await store.recordKeyUse(new Map([['key_a', T0 + 9]]));
    await store.recordKeyUse(new Map([['key_a', T0 + 7]]));
    expect((await store.findKeyByHash('hash-a'))?.lastUsedAt).toBe(T0 + 9);
  });
});
