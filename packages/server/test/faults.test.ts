import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeKey } from '../src/admin/keys.js';
import { createSharedBackend, type SharedBackend } from './helpers/backends.js';
import {
  logLineWith,
  startTestServer,
  type TestClient,
  type TestServer,
  waitUntil,
} from './helpers/harness.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

/**
 * PostgreSQL and Redis going away under a running server, through relays the test cuts (connections
 * reset, new ones refused) and restores: the real services stay up for the rest of the suite.
 * Fail closed: no request is let in on a guess, every refusal is a 503 in the documented shape, and the
 * server recovers by itself when the service is back.
 */
let backend: SharedBackend;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let t: TestServer;
let cached: TestClient;

beforeAll(async () => {
  backend = await createSharedBackend();
  pgProxy = new TcpProxy(backend.store);
  redisProxy = new TcpProxy(backend.cache);
  await Promise.all([pgProxy.start(), redisProxy.start()]);
  t = await startTestServer({
    store: pgProxy.url(backend.store),
    cache: redisProxy.url(backend.cache),
    cachePrefix: backend.cachePrefix,
    storeTimeoutMs: 1000,
    failedAuthLimitPerClient: 'off',
  });
  cached = await t.createClient('cached');
});

afterAll(async () => {
  await t.close();
  await Promise.all([pgProxy.stop(), redisProxy.stop()]);
  await backend.drop();
});

const get = (client: TestClient) =>
  t.request({ path: `/v2.01/${client.clientId}/clients`, headers: { authorization: client.basic } });

/** /readyz's status and the parts it names as failing. */
const readiness = async () => {
  const response = await t.request({ path: '/readyz' });
  return { status: response.status, body: response.json<{ status: string; failing?: string[] }>() };
};

/**
 * /readyz through an outage of `cut`: 503 naming `part` and nothing of the cause (that is logged), then
 * 200 again once it is back (answers are reused for up to a second, so each change shows within about one).
 */
async function readinessThrough(proxy: TcpProxy, part: string): Promise<void> {
  expect(await readiness()).toEqual({ status: 200, body: { status: 'ready' } });
  await proxy.cut();
  try {
    // The store's outage may show first as a change feed not read for too long (both within about 1 s).
    const unreadyAfter = await waitUntil(
      async () => (await readiness()).body.failing?.includes(part) === true,
      4000,
      50,
    );
    const { status, body } = await readiness();
    expect(status).toBe(503);
    expect(body.status).toBe('unready');
    expect(body.failing).toContain(part);
    expect(Object.keys(body).sort()).toEqual(['failing', 'status']);
    // The cause is in the log, once, and not in the answer.
    expect(await logLineWith(t, `"readiness.unready","part":"${part}","detail":`)).toBeTruthy();
    console.info(`faults: ${part} cut, /readyz 503 after ${unreadyAfter} ms`);
  } finally {
    await proxy.restore();
  }
  const readyIn = await waitUntil(async () => (await readiness()).status === 200, 10_000, 50);
  expect((await readiness()).body).toEqual({ status: 'ready' });
  console.info(`faults: ${part} back, /readyz 200 after ${readyIn} ms`);
}

describe('Redis unreachable', () => {
  it('refuses with 503 cache_unavailable (never uncounted), and recovers when it is back', async () => {
    expect((await get(cached)).status).toBe(200);
    await redisProxy.cut();
    try {
      // A client busy in the last 20 ms may still be counted here, to be added to Redis when it is back.
      await waitUntil(async () => (await get(cached)).status === 503, 1000, 5);
      const refused = await get(cached);
      expect(refused.status).toBe(503);
      expect(refused.json()).toMatchObject({ Type: 'cache_unavailable', errors: null });
      expect(refused.headers['retry-after']).toBe('1');
      const token = await t.request({
        method: 'POST',
        path: '/v2.01/oauth/token',
        headers: { authorization: cached.basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(token.status).toBe(503);
      expect(token.json()).toMatchObject({ error: 'server_error' });
    } finally {
      await redisProxy.restore();
    }
    const recoveredIn = await waitUntil(async () => (await get(cached)).status === 200, 5000, 50);
    console.info(`faults: Redis back, requests served again after ${recoveredIn} ms`);
  });

  it('makes /readyz answer 503 naming the cache, and 200 when it is back; /healthz stays 200', async () => {
    await readinessThrough(redisProxy, 'cache');
    expect((await t.request({ path: '/healthz' })).status).toBe(200);
  });
});

describe('PostgreSQL unreachable', () => {
  it('makes /readyz answer 503 naming the store, and 200 when it is back', async () => {
    await readinessThrough(pgProxy, 'store');
  });

  it('refuses with 503 store_unavailable (cold clients at once, cached ones past the bound), then recovers', async () => {
    const cold = await t.createClient('cold');
    expect((await get(cached)).status).toBe(200);
    await pgProxy.cut();
    try {
      const coldAnswer = await get(cold);
      expect(coldAnswer.status).toBe(503);
      expect(coldAnswer.json()).toMatchObject({ Type: 'store_unavailable' });
      const refusedAfter = await waitUntil(async () => (await get(cached)).status === 503, 4000, 50);
      console.info(`faults: PostgreSQL down, cached client refused after ${refusedAfter} ms`);
    } finally {
      await pgProxy.restore();
    }
    const recoveredIn = await waitUntil(
      async () => (await get(cold)).status === 200 && (await get(cached)).status === 200,
      10_000,
      100,
    );
    console.info(`faults: PostgreSQL back, requests served again after ${recoveredIn} ms`);
  });

  it('loses no acknowledged change: a key revoked just before the outage stays revoked after it', async () => {
    const doomed = await t.createKey('cached');
    await waitUntil(async () => (await get(doomed)).status === 200, 2000);
    await revokeKey(t.server.store, 'cached', doomed.keyId);
    const linesBefore = t.logLines.length;
    await pgProxy.cut();
    // Long enough for the server to notice: a read of the change feed fails.
    await waitUntil(
      async () => t.logLines.slice(linesBefore).some((line) => line.includes('background.failed')),
      3000,
    );
    await pgProxy.restore();
    // The revocation is acknowledged; the outage (shorter than the revocation bound) only delays reading it.
    await waitUntil(async () => (await get(doomed)).status === 401, 2000, 20);
    expect((await get(cached)).status).toBe(200);
    const keys = await t.server.store.listApiKeys('cached');
    expect(keys.find((key) => key.keyId === doomed.keyId)?.revokedAt).not.toBeNull();
  });
});
