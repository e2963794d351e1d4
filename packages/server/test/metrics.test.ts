import { spawn } from 'node:child_process';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusMetrics } from '../src/metrics/metrics.js';
import { processesThatServed } from './helpers/cli.js';
import {
  basicHeader,
  httpsRequest,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
} from './helpers/harness.js';
import { startTwoWorkers, type TwoWorkers } from './helpers/workers.js';

/**
 * `GET /metrics` on the admin listener (issue 13 §4): Prometheus's text format, checked by Prometheus's
 * own `promtool`, counters that move by exactly the traffic sent, and with `--workers 2` one view of both
 * workers, whichever answers the scrape.
 */

/** Every sample of an exposition, `name{labels}` (labels as written) to value. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    found.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return found;
}

/** The value of the sample of `name` whose labels are exactly `labels` (0 when there is none). */
function sampleValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const wanted = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .sort()
    .join(',');
  for (const [series, value] of samples(text)) {
    const brace = series.indexOf('{');
    const seriesName = brace === -1 ? series : series.slice(0, brace);
    if (seriesName !== name) continue;
    const seriesLabels =
      brace === -1
        ? ''
        : series
            .slice(brace + 1, -1)
            .split(',')
            .sort()
            .join(',');
    if (seriesLabels === wanted) return value;
  }
  return 0;
}

/** Runs `promtool check metrics` on `text`: its exit code and what it printed. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('GET /metrics, one process', () => {
  let t: TestServer;
  let acme: TestClient;
  let token: string;
  let scraped: string;
  let contentType: string | undefined;

  beforeAll(async () => {
    t = await startTestServer({ rateLimits: '2/1h' });
    acme = await t.createClient('acme');
    token = await t.token(acme);
    const calls = [
      // 200, 200, then 429: the rate limit allows two calls an hour.
      { path: '/v2.01/acme/clients', headers: { authorization: acme.basic } },
      { path: '/v2.01/acme/clients', headers: { authorization: `Bearer ${token}` } },
      { path: '/v2.01/acme/clients', headers: { authorization: acme.basic } },
      // 401 (a key whose checksum fails: malformed_key): authentication comes before the limits, which it does not count.
      { path: '/v2.01/acme/clients', headers: { authorization: basicHeader('acme', mistyped(acme.apiKey)) } },
    ];
    const statuses = [];
    for (const call of calls) statuses.push((await t.request(call)).status);
    expect(statuses).toEqual([200, 200, 429, 401]);
    const response = await t.adminRequest({ path: '/metrics' });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    contentType = response.headers['content-type'];
    scraped = response.text;
  });
  afterAll(() => t.close());

  it('answers in the Prometheus text format', () => {
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('passes promtool check metrics', async () => {
    const { code, output } = await promtool(scraped);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('counts requests by listener, route and status class, exactly as sent', () => {
    const public_ = (route: string, status_class: string) =>
      sampleValue(scraped, 'portcullis_http_requests_total', { listener: 'public', route, status_class });
    expect(public_('token', '2xx')).toBe(1);
    expect(public_('clients', '2xx')).toBe(2);
    expect(public_('clients', '4xx')).toBe(2);
    expect(public_('clients', '5xx')).toBe(0);
    expect(
      sampleValue(scraped, 'portcullis_http_request_duration_seconds_count', {
        listener: 'public',
        route: 'clients',
      }),
    ).toBe(4);
    expect(
      sampleValue(scraped, 'portcullis_http_request_duration_seconds_bucket', {
        listener: 'public',
        route: 'clients',
        le: '+Inf',
      }),
    ).toBe(4);
  });

  it('counts tokens issued, authentication failures by reason and limit refusals by limit', () => {
    expect(sampleValue(scraped, 'portcullis_tokens_issued_total')).toBe(1);
    expect(
      sampleValue(scraped, 'portcullis_authentication_failures_total', { reason: 'malformed_key' }),
    ).toBe(1);
    expect(scraped.match(/^portcullis_authentication_failures_total\{/gm)).toHaveLength(1);
    expect(sampleValue(scraped, 'portcullis_limit_refusals_total', { limit: 'rate' })).toBe(1);
    expect(sampleValue(scraped, 'portcullis_limit_refusals_total', { limit: 'token' })).toBe(0);
    // Nothing forgotten, and said so for every limit (limit-keys-forgotten.test.ts counts some).
    expect(scraped.match(/^portcullis_limit_keys_forgotten_total\{limit="\w+"\} 0$/gm)).toHaveLength(3);
  });

  it('states the store up, the change feed lag, the workers reporting and the process metrics', () => {
    expect(sampleValue(scraped, 'portcullis_store_up')).toBe(1);
    expect(sampleValue(scraped, 'portcullis_change_feed_lag_seconds')).toBeLessThan(5);
    expect(sampleValue(scraped, 'portcullis_workers_reporting')).toBe(1);
    expect(sampleValue(scraped, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(scraped).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('has no client label by default, and nothing secret', () => {
    expect(scraped).not.toContain('client_id');
    expect(scraped).not.toContain('acme');
    for (const secret of [acme.apiKey, token, 'pcl_', 'pca_', 'Basic ', 'Bearer ']) {
      expect(scraped).not.toContain(secret);
    }
  });

  it('counts its scrapes on the admin listener, and the next scrape shows the first', async () => {
    const next = (await t.adminRequest({ path: '/metrics' })).text;
    expect(
      sampleValue(next, 'portcullis_http_requests_total', {
        listener: 'admin',
        route: 'metrics',
        status_class: '2xx',
      }),
    ).toBe(1);
  });

  it('answers HEAD without a body, refuses POST, and is not on the public listener', async () => {
    const head = await t.adminRequest({ method: 'HEAD', path: '/metrics' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect((await t.adminRequest({ method: 'POST', path: '/metrics' })).status).toBe(405);
    expect((await t.request({ path: '/metrics' })).status).toBe(404);
  });
});

describe('GET /metrics with metricsPerClient', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ metricsPerClient: true });
  });
  afterAll(() => t.close());

  it('labels requests and tokens issued with the ClientId, and still passes promtool', async () => {
    const acme = await t.createClient('acme');
    await t.token(acme);
    await t.request({ path: '/v2.01/acme/clients', headers: { authorization: acme.basic } });
    const scraped = (await t.adminRequest({ path: '/metrics' })).text;
    expect(sampleValue(scraped, 'portcullis_tokens_issued_total', { client_id: 'acme' })).toBe(1);
    expect(
      sampleValue(scraped, 'portcullis_http_requests_total', {
        listener: 'public',
        route: 'clients',
        status_class: '2xx',
        client_id: 'acme',
      }),
    ).toBe(1);
    expect((await promtool(scraped)).code).toBe(0);
    expect(scraped).not.toContain(acme.apiKey);
  });
});

describe('GET /metrics, serve --workers 2', () => {
  let workers: TwoWorkers;
  /** The workers' pids, from their access lines. */
  let servedBy = new Set<number>();

  beforeAll(async () => {
    workers = await startTwoWorkers('acme');
  });
  afterAll(() => workers.close());

  it('counts every worker’s requests in every scrape, whichever worker answers it', async () => {
    const sent = 12;
    for (let i = 0; i < sent; i++) {
      expect(
        (await workers.onNewConnection(workers.server.port, '/v2.01/acme/clients', workers.basic)).status,
      ).toBe(200);
    }
    // Both workers served some: their access lines name their process.
    servedBy = processesThatServed(workers.server, 'clients');
    expect(servedBy.size).toBe(2);
    const adminPort = workers.server.adminPort as number;
    for (let scrape = 0; scrape < 4; scrape++) {
      const response = await workers.onNewConnection(adminPort, '/metrics');
      expect(response.status).toBe(200);
      const text = response.text;
      expect(
        sampleValue(text, 'portcullis_http_requests_total', {
          listener: 'public',
          route: 'clients',
          status_class: '2xx',
        }),
      ).toBe(sent);
      expect(sampleValue(text, 'portcullis_workers_reporting')).toBe(2);
      // From the primary, which holds the counts here (the workers have none to report).
      expect(text.match(/^portcullis_limit_keys_forgotten_total\{limit="\w+"\} 0$/gm)).toHaveLength(3);
      const { code, output } = await promtool(text);
      expect(output).toBe('');
      expect(code).toBe(0);
    }
  });

  it('answers within about a second with the workers that answered when one does not', async () => {
    const [stopped] = [...servedBy];
    expect(stopped).toBeDefined();
    process.kill(stopped as number, 'SIGSTOP');
    try {
      // Connections alternate between the workers: one that lands on the stopped worker waits, so each
      // try is given 3 s, then the next connection goes to the other.
      let answered: { text: string; ms: number } | undefined;
      for (let attempt = 0; attempt < 4 && answered === undefined; attempt++) {
        const agent = new https.Agent({ ca: workers.ca, keepAlive: false });
        const started = performance.now();
        const response = await Promise.race([
          httpsRequest(workers.server.adminPort as number, agent, { path: '/metrics' }).catch(
            () => undefined,
          ),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000)),
        ]);
        agent.destroy();
        if (response?.status === 200) answered = { text: response.text, ms: performance.now() - started };
      }
      expect(answered).toBeDefined();
      const { text, ms } = answered as { text: string; ms: number };
      expect(sampleValue(text, 'portcullis_workers_reporting')).toBe(1);
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(2500);
      expect((await promtool(text)).code).toBe(0);
    } finally {
      process.kill(stopped as number, 'SIGCONT');
    }
  });
});

describe('scrapes asked together', () => {
  it('share one gathering of the workers’ numbers: a flood of /metrics costs the primary one at a time', async () => {
    let gatherings = 0;
    let release: () => void = () => undefined;
    const metrics = new PrometheusMetrics({
      perClient: false,
      withCache: false,
      unready: async () => [],
      feedReadAt: () => Date.now(),
      peers: {
        gather: async () => {
          gatherings++;
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return [];
        },
        answerWith: () => undefined,
      },
    });
    try {
      const together = Array.from({ length: 20 }, () => metrics.scrape());
      release();
      const answers = await Promise.all(together);
      expect(gatherings).toBe(1);
      expect(new Set(answers.map((answer) => answer.body)).size).toBe(1);
      const later = metrics.scrape();
      release();
      await later;
      expect(gatherings).toBe(2);
    } finally {
      metrics.stop();
    }
  });
});
