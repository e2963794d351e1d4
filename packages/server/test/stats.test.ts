import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  mergeTraffic,
  TRAFFIC_SERIES,
  TrafficHistory,
  type TrafficReport,
} from '../src/metrics/traffic-history.js';
import { processesThatServed, runCli } from './helpers/cli.js';
import {
  basicHeader,
  mistyped,
  startTestServer,
  type TestClient,
  type TestRequest,
  type TestResponse,
  type TestServer,
} from './helpers/harness.js';
import { documented } from './helpers/openapi.js';
import { startTwoWorkers, type TwoWorkers } from './helpers/workers.js';

/**
 * `GET /admin/v1/stats` (issue 14, the dashboard's overview): the last hour of traffic per 10-second
 * slot, from the counters of `/metrics`, summed over every worker; store and cache health.
 */

interface StatsBody {
  intervalSeconds: number;
  points: {
    at: string;
    requests: number;
    tokens: number;
    authenticationFailures: number;
    limitRefusals: number;
  }[];
  workers: number;
  store: string;
  cache: string;
}

/** Each series summed over the points. */
function totals(body: StatsBody): Record<string, number> {
  return Object.fromEntries(
    TRAFFIC_SERIES.map((series) => [series, body.points.reduce((sum, point) => sum + point[series], 0)]),
  );
}

describe('the traffic history of one process', () => {
  /** A clock the test moves, and counter totals it sets. */
  function fixture(options: { slots?: number } = {}) {
    const clock = { now: 1_000_000 * 10_000 + 3 };
    const counters = [0, 0, 0, 0];
    const history = new TrafficHistory(() => counters, { now: () => clock.now, ...options });
    return { clock, counters, history };
  }

  it('counts each slot’s traffic apart, the current one up to now', () => {
    const { clock, counters, history } = fixture();
    history.sample();
    counters[0] = 5;
    counters[1] = 1;
    clock.now += 10_000;
    history.sample();
    counters[0] = 7;
    counters[2] = 3;
    const report = history.report();
    expect(report.firstSlot).toBe(1_000_000);
    expect(report.counts).toEqual([
      [5, 1, 0, 0],
      [2, 0, 3, 0],
    ]);
  });

  it('leaves the traffic of a slot without a sample in the slot sampled before, and 0 in the gap', () => {
    const { clock, counters, history } = fixture();
    history.sample();
    clock.now += 20_000;
    counters[3] = 4;
    expect(history.report().counts).toEqual([
      [0, 0, 0, 4],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('keeps the last `slots` slots only', () => {
    const { clock, counters, history } = fixture({ slots: 3 });
    for (let slot = 0; slot < 6; slot++) {
      history.sample();
      counters[0] = (counters[0] as number) + 1;
      clock.now += 10_000;
    }
    // The ring holds slots 3, 4 and 5; now is in slot 6, which it also reports.
    const report = history.report();
    expect(report.firstSlot).toBe(1_000_000 + 4);
    expect(report.counts.map((row) => row[0])).toEqual([1, 1, 0]);
  });

  it('samples on its own at each boundary once started, until stopped', async () => {
    let requests = 0;
    const history = new TrafficHistory(() => [requests, 0, 0, 0], { intervalMs: 50 });
    history.start();
    const ticker = setInterval(() => requests++, 5);
    await new Promise((resolve) => setTimeout(resolve, 300));
    clearInterval(ticker);
    history.stop();
    const { counts } = history.report();
    // About six slots, each sampled at its start so with its own count (a busy machine may delay a
    // sample past a boundary: that slot's traffic then stays in the one before).
    expect(counts.length).toBeGreaterThanOrEqual(5);
    expect(counts.filter((row) => (row[0] as number) > 0).length).toBeGreaterThanOrEqual(3);
    expect(counts.reduce((sum, row) => sum + (row[0] as number), 0)).toBe(requests);
  });
});

describe('merging the workers’ histories', () => {
  const report = (firstSlot: number, requests: readonly number[]): TrafficReport => ({
    intervalMs: 10_000,
    firstSlot,
    counts: requests.map((n) => [n, 0, 0, 0]),
  });

  it('sums slot by slot, from the oldest any worker has, with 0 where a worker has none', () => {
    const merged = mergeTraffic([report(100, [1, 2, 3]), report(101, [10, 20])], 360);
    expect(merged.workers).toBe(2);
    expect(merged.points.map(({ at }) => at)).toEqual([1_000_000, 1_010_000, 1_020_000]);
    expect(merged.points.map(({ counts }) => counts.requests)).toEqual([1, 12, 23]);
  });

  it('keeps the last `maxPoints` slots, and never a negative count', () => {
    const merged = mergeTraffic([report(100, [1, 2, 3]), report(100, [-5, 1, 1])], 2);
    expect(merged.points.map(({ counts }) => counts.requests)).toEqual([3, 4]);
  });

  it('a restarted worker (a new history beside the others’) adds to the sums, never takes away', () => {
    // The worker that died reports no more; its successor's history starts at its start, from 0.
    const merged = mergeTraffic([report(100, [4, 4, 4]), report(102, [1])], 360);
    expect(merged.points.map(({ counts }) => counts.requests)).toEqual([4, 4, 5]);
  });
});

describe('GET /admin/v1/stats, one process', () => {
  let t: TestServer;
  let acme: TestClient;
  let viewer: string;
  let document: Record<string, unknown>;

  beforeAll(async () => {
    t = await startTestServer({ rateLimits: '2/1h' });
    acme = await t.createClient('acme');
    viewer = await t.createAdmin('auditor', 'viewer');
    document = (await t.adminRequest({ path: '/admin/v1/openapi.json' })).json();
  });
  afterAll(() => t.close());

  /** An admin request, its answer held to the OpenAPI document. */
  async function send(request: TestRequest): Promise<TestResponse> {
    return documented(document, request, await t.adminRequest(request));
  }

  const asViewer = (path: string) => send({ path, headers: { authorization: `Bearer ${viewer}` } });

  it('counts what was sent: requests, tokens, authentication failures and limit refusals', async () => {
    const before = totals((await asViewer('/admin/v1/stats')).json<StatsBody>());
    const token = await t.token(acme);
    const statuses = [];
    for (const authorization of [
      acme.basic,
      `Bearer ${token}`,
      // The rate limit allows two calls an hour: 429.
      acme.basic,
      // Authentication comes before the limits: 401, a failure, not a refusal.
      basicHeader('acme', mistyped(acme.apiKey)),
    ]) {
      statuses.push((await t.request({ path: '/v2.01/acme/clients', headers: { authorization } })).status);
    }
    expect(statuses).toEqual([200, 200, 429, 401]);
    const response = await asViewer('/admin/v1/stats');
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<StatsBody>();
    const after = totals(body);
    // The admin requests (these stats, the OpenAPI document) are not the public API's.
    expect({
      requests: (after.requests as number) - (before.requests as number),
      tokens: (after.tokens as number) - (before.tokens as number),
      authenticationFailures:
        (after.authenticationFailures as number) - (before.authenticationFailures as number),
      limitRefusals: (after.limitRefusals as number) - (before.limitRefusals as number),
    }).toEqual({ requests: 5, tokens: 1, authenticationFailures: 1, limitRefusals: 1 });
    expect(body.intervalSeconds).toBe(10);
    expect(body.workers).toBe(1);
    expect(body.store).toBe('up');
    expect(body.cache).toBe(t.server.options.cache === undefined ? 'none' : 'up');
    // Oldest first, one slot apart, the last one now's.
    const ats = body.points.map(({ at }) => Date.parse(at));
    expect(ats.every((at, i) => i === 0 || at - (ats[i - 1] as number) === 10_000)).toBe(true);
    expect(Date.now() - (ats.at(-1) as number)).toBeLessThan(10_000 + 1000);
    expect(body.points.length).toBeLessThanOrEqual(360);
  });

  it('takes `minutes`, 1 to 60', async () => {
    const one = await asViewer('/admin/v1/stats?minutes=1');
    expect(one.status).toBe(200);
    expect(one.json<StatsBody>().points.length).toBeLessThanOrEqual(6);
    for (const bad of ['0', '61', 'x', '1.5']) {
      const refused = await asViewer(`/admin/v1/stats?minutes=${bad}`);
      expect(refused.status).toBe(400);
      expect(refused.json<{ errors: Record<string, string> }>().errors).toHaveProperty('minutes');
    }
    expect((await asViewer('/admin/v1/stats?hours=1')).status).toBe(400);
  });

  it('needs an admin token', async () => {
    const response = await send({ path: '/admin/v1/stats' });
    expect(response.status).toBe(401);
    expect(response.text).not.toContain('requests');
  });
});

describe('GET /admin/v1/stats, serve --workers 2', () => {
  let workers: TwoWorkers;
  let viewer: string;

  beforeAll(async () => {
    workers = await startTwoWorkers('acme');
    const admin = await runCli([
      'admins',
      'create',
      'auditor',
      '--role',
      'viewer',
      '--json',
      '--data-dir',
      workers.dataDir,
    ]);
    viewer = JSON.parse(admin.stdout).token;
  });
  afterAll(() => workers.close());

  it('counts every worker’s requests, whichever worker answers', async () => {
    const sent = 12;
    for (let i = 0; i < sent; i++) {
      expect(
        (await workers.onNewConnection(workers.server.port, '/v2.01/acme/clients', workers.basic)).status,
      ).toBe(200);
    }
    // Both workers served some: their access lines name their process.
    expect(processesThatServed(workers.server, 'clients').size).toBe(2);
    for (let ask = 0; ask < 4; ask++) {
      const response = await workers.onNewConnection(
        workers.server.adminPort as number,
        '/admin/v1/stats',
        `Bearer ${viewer}`,
      );
      expect(response.status).toBe(200);
      const body = response.json<StatsBody>();
      expect(body.workers).toBe(2);
      expect(totals(body).requests).toBe(sent);
    }
  });
});
