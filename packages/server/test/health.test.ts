import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessProbe } from '../src/http/health.js';
import { silentLogger } from '../src/log.js';
import {
  basicHeader,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
} from './helpers/harness.js';

/**
 * The health checks a load balancer or an orchestrator probes: no credentials, never cached, GET and HEAD
 * only. Readiness under a store or cache outage is in faults.test.ts, which cuts them under a server.
 */
let t: TestServer;
let acme: TestClient;

beforeAll(async () => {
  t = await startTestServer({ failedAuthLimitPerClient: '3/15m', failedAuthLimitPerAddress: '3/15m' });
  acme = await t.createClient('acme');
});
afterAll(() => t.close());

describe.each([
  ['/healthz', { status: 'ok' }],
  ['/readyz', { status: 'ready' }],
])('%s', (path, body) => {
  it('answers 200 with its status, not to be cached, with no rate-limit headers', async () => {
    const response = await t.request({ path });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual(body);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(Object.keys(response.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
    expect((await t.request({ path: `${path}/` })).json()).toEqual(body);
  });

  it('answers HEAD as GET, without the body', async () => {
    const response = await t.request({ method: 'HEAD', path });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    expect(response.headers['content-length']).toBe(String(JSON.stringify(body).length));
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])(
    'refuses %s with 405 and Allow: GET, HEAD',
    async (method) => {
      const response = await t.request({ method, path });
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.json()).toMatchObject({ Type: 'method_not_allowed' });
    },
  );

  it('refuses a query string with 400, as the other fixed routes do', async () => {
    const response = await t.request({ path: `${path}?verbose=1` });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ Type: 'invalid_request' });
  });

  it('answers a request that looks like a browser’s (health checks are exempt from that refusal)', async () => {
    const response = await t.request({
      path,
      headers: {
        origin: 'https://status.example',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
      },
    });
    expect(response.status).toBe(200);
    expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });

  it('never reads an Authorization header: wrong keys sent to it count toward no failed-auth limit', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (let i = 0; i < 5; i += 1) {
      const response = await t.request({ path, headers: { authorization: wrong } });
      expect(response.status).toBe(200);
      expect(response.headers['www-authenticate']).toBeUndefined();
    }
    // Past the limits of 3 failures, the client and this address would be refused (429) even with a valid key.
    const call = await t.request({ path: '/v2.01/acme/clients', headers: { authorization: acme.basic } });
    expect(call.status).toBe(200);
  });
});

describe('readiness probe', () => {
  const sources = (store: () => Promise<unknown>, feedReadAt = () => Date.now()) => ({
    store,
    cache: undefined,
    feedReadAt,
    feedBoundMs: 1000,
    logger: silentLogger,
  });

  it('queries the store at most once a second, however often it is asked', async () => {
    let queries = 0;
    const probe = new ReadinessProbe(sources(async () => (queries += 1)));
    await Promise.all(Array.from({ length: 50 }, () => probe.unready()));
    for (let i = 0; i < 10; i += 1) expect(await probe.unready()).toEqual([]);
    expect(queries).toBe(1);
  });

  it('names a store that does not answer in time, and a change feed not read within the bound', async () => {
    const probe = new ReadinessProbe(
      sources(
        () => new Promise(() => undefined),
        () => Date.now() - 1500,
      ),
    );
    expect(await probe.unready()).toEqual(['store', 'change_feed']);
  });
});
