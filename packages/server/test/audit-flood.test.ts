import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditCounter, MANY } from '../src/audit/audit-counter.js';
import type { AuditEvent } from '../src/domain/records.js';
import { generateApiKey } from '../src/keys/api-key.js';
import {
  basicHeader,
  dropTestBackend,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
  tempDataDir,
} from './helpers/harness.js';

/**
 * The audit trail under a flood of anonymous requests, as the audit found it: refused requests claiming
 * thousands of ClientIds had pushed real token issuances into an anonymous overflow entry, and written a
 * row per claimed ClientId. Each scenario runs one server, floods it, stops it (which flushes the
 * counted events) and reads the trail back.
 */
const FLOOD = 12_000;
const CONCURRENCY = 64;

async function inParallel(count: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

/** A server on a data directory of its own, which `trailAfter` stops and `removeServer` deletes. */
function startFloodServer(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  return startTestServer({ ...options, dataDir: tempDataDir() });
}

/** Stops the server, which writes the events it counted, and reads the whole trail. */
async function trailAfter(t: TestServer): Promise<AuditEvent[]> {
  await t.server.close();
  const store = await t.openStore();
  try {
    return await store.readAudit({ limit: 100_000 });
  } finally {
    await store.close();
  }
}

async function removeServer(t: TestServer): Promise<void> {
  rmSync(t.dataDir, { recursive: true, force: true });
  await dropTestBackend(t.dataDir);
}

function total(events: readonly AuditEvent[]): number {
  return events.reduce((sum, e) => sum + e.count, 0);
}

async function issueTokens(t: TestServer, client: TestClient, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await t.token(client);
}

describe('the audit trail under a flood of anonymous requests', () => {
  let t: TestServer;
  let bob: TestClient;

  beforeAll(async () => {
    t = await startFloodServer({ failedAuthLimitPerAddress: '5/15m' });
    bob = await t.createClient('bob');
  });
  afterAll(() => removeServer(t));

  it(`${FLOOD} refused requests from a blocked address, each claiming another ClientId, are one entry per minute and never hide bob's tokens`, async () => {
    const blocked = '127.0.0.3';
    for (let i = 0; i < 5; i++) {
      await t.request({
        path: '/v2.01/bob/clients',
        headers: { authorization: basicHeader('bob', mistyped(bob.apiKey)) },
        localAddress: blocked,
      });
    }
    const guess = generateApiKey('sandbox');
    const flood = inParallel(FLOOD, async (i) => {
      const response = await t.request({
        path: `/v2.01/guess${i}/clients`,
        headers: { authorization: basicHeader(`guess${i}`, guess) },
        localAddress: blocked,
      });
      expect(response.status).toBe(429);
    });
    await issueTokens(t, bob, 3);
    await flood;

    const trail = await trailAfter(t);
    const issued = trail.filter((e) => e.type === 'tokens.issued');
    expect(issued.every((e) => e.clientId === 'bob' && e.keyId === bob.keyId)).toBe(true);
    expect(total(issued)).toBe(3);
    const refused = trail.filter((e) => e.type === 'limit.failed_authentication');
    expect(refused.every((e) => e.source === blocked && e.clientId === null)).toBe(true);
    expect(total(refused)).toBe(FLOOD);
    // One entry per minute the flood spanned (written in 5 s slices, summed when read).
    expect(refused.length).toBeLessThanOrEqual(3);
    expect(trail.length).toBeLessThan(20);
  }, 120_000);
});

describe('failures from many addresses', () => {
  let t: TestServer;
  let bob: TestClient;
  const ADDRESSES = 40;
  const CLAIMS_PER_ADDRESS = 50;

  beforeAll(async () => {
    t = await startFloodServer();
    bob = await t.createClient('bob');
  });
  afterAll(() => removeServer(t));

  it('are kept per source and claimed ClientId up to 20 a source and minute, the rest as (many)', async () => {
    const guess = generateApiKey('sandbox');
    await inParallel(ADDRESSES * CLAIMS_PER_ADDRESS, async (i) => {
      const address = `127.1.0.${1 + (i % ADDRESSES)}`;
      const clientId = `guess${Math.floor(i / ADDRESSES)}`;
      const response = await t.request({
        path: `/v2.01/${clientId}/clients`,
        headers: { authorization: basicHeader(clientId, guess) },
        localAddress: address,
      });
      expect(response.status).toBe(401);
    });
    await issueTokens(t, bob, 3);

    const trail = await trailAfter(t);
    const failed = trail.filter((e) => e.type === 'authentication.failed');
    expect(total(failed)).toBe(ADDRESSES * CLAIMS_PER_ADDRESS);
    const namedPerSourceAndMinute = new Map<string, number>();
    for (const e of failed) {
      const key = `${e.source} ${e.at}`;
      if (e.clientId !== MANY) namedPerSourceAndMinute.set(key, (namedPerSourceAndMinute.get(key) ?? 0) + 1);
    }
    expect(Math.max(...namedPerSourceAndMinute.values())).toBeLessThanOrEqual(20);
    expect(failed.some((e) => e.clientId === MANY)).toBe(true);
    expect(total(trail.filter((e) => e.type === 'tokens.issued' && e.clientId === 'bob'))).toBe(3);
  }, 120_000);
});

describe('AuditCounter budgets', () => {
  const at = Date.UTC(2026, 11, 1, 10, 0);

  it('keeps authenticated events exact when anonymous subjects overflow their budget', () => {
    const counter = new AuditCounter();
    for (let i = 0; i < 30_000; i++) {
      counter.count(
        'authentication.failed',
        { source: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, clientId: `c${i}` },
        at,
      );
    }
    counter.count('tokens.issued', { clientId: 'bob', keyId: 'key_bob' }, at);
    const taken = counter.take();
    expect(taken.filter((e) => e.type === 'tokens.issued')).toEqual([
      // Counted by the server itself: no actor.
      {
        at,
        type: 'tokens.issued',
        clientId: 'bob',
        keyId: 'key_bob',
        source: null,
        count: 1,
        detail: null,
        actor: null,
      },
    ]);
    const failed = taken.filter((e) => e.type === 'authentication.failed');
    expect(failed.length).toBe(10_001);
    expect(failed.find((e) => e.source === MANY)?.count).toBe(20_000);
    expect(total(failed)).toBe(30_000);
  });

  it('bounds an IPv6 host by its /64: rotating addresses does not buy more rows', () => {
    const counter = new AuditCounter();
    const network = '2001:db8:0:0:0:0:0:0/64';
    for (let i = 1; i <= 100; i++) {
      const source = `2001:db8::${i.toString(16)}`;
      counter.count('authentication.failed', { source, sourceNetwork: network, clientId: `c${i}` }, at);
    }
    const taken = counter.take();
    expect(taken.filter((e) => e.clientId !== MANY)).toHaveLength(20);
    expect(taken.filter((e) => e.clientId === MANY)).toEqual([
      expect.objectContaining({ source: network, count: 80 }),
    ]);
  });

  it('keeps one source to 20 named subjects a minute across flushes, and names them afresh the next minute', () => {
    const counter = new AuditCounter();
    for (let i = 0; i < 25; i++)
      counter.count('authentication.failed', { source: '10.0.0.1', clientId: `c${i}` }, at);
    expect(counter.take().filter((e) => e.clientId === MANY)).toEqual([
      expect.objectContaining({ count: 5 }),
    ]);
    // Same minute, next flush: a subject already named keeps its name, a new one does not get one.
    counter.count('authentication.failed', { source: '10.0.0.1', clientId: 'c0' }, at);
    counter.count('authentication.failed', { source: '10.0.0.1', clientId: 'c99' }, at);
    expect(counter.take()).toEqual([
      expect.objectContaining({ clientId: 'c0', count: 1 }),
      expect.objectContaining({ clientId: MANY, source: '10.0.0.1', count: 1 }),
    ]);
    counter.count('authentication.failed', { source: '10.0.0.1', clientId: 'c99' }, at + 60_000);
    expect(counter.take()).toEqual([expect.objectContaining({ clientId: 'c99', count: 1 })]);
  });

  it('starts the budget of distinct subjects afresh after a flush', () => {
    const counter = new AuditCounter();
    for (let i = 0; i < 10_001; i++) {
      counter.count('authentication.failed', { source: `10.1.${i >> 8}.${i & 255}` }, at);
    }
    expect(counter.take().filter((e) => e.source === MANY)).toEqual([expect.objectContaining({ count: 1 })]);
    counter.count('authentication.failed', { source: '10.2.0.1' }, at);
    expect(counter.take()).toEqual([expect.objectContaining({ source: '10.2.0.1', count: 1 })]);
  });
});
