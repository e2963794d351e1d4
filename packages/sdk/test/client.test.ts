import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeKey } from '../../server/src/admin/keys.js';
import { type TestClient, type TestServer, waitUntil } from '../../server/test/helpers/harness.js';
import {
  ApiError,
  AuthenticationError,
  BrowserEnvironmentError,
  ConfigurationError,
  InsecureTransportError,
  MemoryTokenStore,
  NetworkError,
  PortcullisClient,
  type PortcullisClientOptions,
  RateLimitError,
  TimeoutError,
  tokenStoreKey,
} from '../src/index.js';
import { startTrustedServer } from './helpers/server.js';

let t: TestServer;
let acme: TestClient;

/** An upstream behind the server's gateway, so that the SDK meets 429s and slow answers for real. */
let upstream: http.Server;
let rateLimitedUntil = 0;
const upstreamCalls: string[] = [];

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    upstreamCalls.push(req.url ?? '');
    if (req.url?.startsWith('/v2.01/acme/slow')) {
      setTimeout(() => res.end('{}'), 2000);
      return;
    }
    const limits = {
      'x-ratelimit': '5,10',
      'x-ratelimit-remaining': '0,5',
      'x-ratelimit-reset': `${Math.floor(Date.now() / 1000) + 1},${Math.floor(Date.now() / 1000) + 900}`,
    };
    if (
      req.url?.startsWith('/v2.01/acme/limited') &&
      (req.url.includes('always') || Date.now() < rateLimitedUntil)
    ) {
      res.writeHead(429, { ...limits, 'retry-after': '1', 'content-type': 'application/json' });
      res.end('{"Message":"Too many requests","Type":"rate_limit","Id":"x","Date":0,"errors":null}');
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'x-ratelimit': '1,1',
      'x-ratelimit-remaining': '9,19',
      'x-ratelimit-reset': '2000000000,2000000900',
    });
    res.end(JSON.stringify({ ok: true, url: req.url, method: req.method }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  // Portcullis's own rate limits off: the upstream's X-RateLimit headers and 429s reach the SDK as sent.
  t = await startTrustedServer({
    upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    rateLimits: 'off',
  });
  acme = await t.createClient('acme');
});

afterAll(async () => {
  await t.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

function client(credentials: TestClient, options: Partial<PortcullisClientOptions> = {}): PortcullisClient {
  return new PortcullisClient({
    baseUrl: t.baseUrl,
    clientId: credentials.clientId,
    apiKey: credentials.apiKey,
    ...options,
  });
}

/** Counts what goes over the wire; every request still reaches the real server. */
function countingFetch() {
  const calls: string[] = [];
  const counted: typeof fetch = (input, init) => {
    calls.push(`${init?.method ?? 'GET'} ${new URL(input instanceof Request ? input.url : input).pathname}`);
    return fetch(input, init);
  };
  return { calls, fetch: counted };
}

describe('OAuth 2.0 client credentials, handled automatically', () => {
  it('100 concurrent calls with no token cause exactly one token request (counted by the server)', async () => {
    const before = t.server.tokensIssued();
    const sdk = client(acme);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => sdk.request<{ ClientId: string }>('GET', 'clients')),
    );
    expect(results.every((r) => r.ClientId === 'acme')).toBe(true);
    expect(t.server.tokensIssued() - before).toBe(1);
  });

  it('reuses the token across calls and exposes it', async () => {
    const sdk = client(acme);
    const token = await sdk.getAccessToken();
    await sdk.request('GET', 'clients');
    expect(await sdk.getAccessToken()).toBe(token);
  });

  it('refreshes a token that expires during a burst once, for all callers', async () => {
    const brief = await t.createClient('brief', { tokenTtlSeconds: 2 });
    const sdk = client(brief);
    const fetched: number[] = [];
    sdk.on('token', (event) => fetched.push(event.expiresAt));
    const before = t.server.tokensIssued();
    const burst = () => Promise.all(Array.from({ length: 30 }, () => sdk.request('GET', 'clients')));
    await burst();
    await t.advanceClock(2100);
    await burst();
    expect(t.server.tokensIssued() - before).toBe(2);
    expect(fetched).toHaveLength(2);
  });

  it('a revoked key gives AuthenticationError after exactly one retry, and never loops', async () => {
    const doomed = await t.createClient('doomed');
    const counter = countingFetch();
    const sdk = client(doomed, { fetch: counter.fetch });
    const retries: string[] = [];
    sdk.on('retry', (event) => retries.push(event.reason));
    await sdk.request('GET', 'clients');
    const bearer = `Bearer ${await sdk.getAccessToken()}`;
    await revokeKey(t.server.store, 'doomed', doomed.keyId);
    // The server applies the change feed within its poll interval: wait until it refuses the token.
    await waitUntil(
      async () =>
        (await t.request({ path: '/v2.01/doomed/clients', headers: { authorization: bearer } })).status ===
        401,
      2000,
    );
    counter.calls.length = 0;
    const error = await sdk.request('GET', 'clients').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('ERR_AUTHENTICATION');
    expect((error as AuthenticationError).error).toBe('invalid_client');
    expect(counter.calls).toEqual(['GET /v2.01/doomed/clients', 'POST /v2.01/oauth/token']);
    expect(retries).toEqual(['invalid_token']);
  });

  it('renews a token the server no longer accepts (ended early) and retries the call once', async () => {
    // A token the client believes valid for an hour, which the server does not know: as after a
    // server restart with new secrets, or a clock that runs behind.
    const store = new MemoryTokenStore();
    const key = tokenStoreKey(t.baseUrl, acme.clientId, acme.apiKey);
    await store.set(key, {
      accessToken: 'ended-early',
      expiresAt: Date.now() + 3_600_000,
      refreshAt: Date.now() + 3_540_000,
    });
    const counter = countingFetch();
    const sdk = client(acme, { tokenStore: store, fetch: counter.fetch });
    const answer = await sdk.request<{ ClientId: string }>('GET', 'clients');
    expect(answer.ClientId).toBe('acme');
    expect(counter.calls).toEqual([
      'GET /v2.01/acme/clients',
      'POST /v2.01/oauth/token',
      'GET /v2.01/acme/clients',
    ]);
    expect((await store.get(key))?.accessToken).not.toBe('ended-early');
  });

  it('two instances with different clients in one process stay separate', async () => {
    const globex = await t.createClient('globex');
    const a = client(acme);
    const b = client(globex);
    const [ra, rb] = await Promise.all([
      a.request<{ ClientId: string }>('GET', 'clients'),
      b.request<{ ClientId: string }>('GET', 'clients'),
    ]);
    expect(ra.ClientId).toBe('acme');
    expect(rb.ClientId).toBe('globex');
    expect(await a.getAccessToken()).not.toBe(await b.getAccessToken());
  });

  it('a 401 from the token endpoint itself is an AuthenticationError and is not retried', async () => {
    const counter = countingFetch();
    const sdk = new PortcullisClient({
      baseUrl: t.baseUrl,
      clientId: 'acme',
      apiKey: 'wrong',
      fetch: counter.fetch,
    });
    await expect(sdk.request('GET', 'clients')).rejects.toBeInstanceOf(AuthenticationError);
    expect(counter.calls).toEqual(['POST /v2.01/oauth/token']);
  });
});

describe('Basic authentication on every call', () => {
  it('sends the key with every request and never asks for a token', async () => {
    const counter = countingFetch();
    const sdk = client(acme, { auth: 'basic', fetch: counter.fetch });
    const before = t.server.tokensIssued();
    await sdk.request('GET', 'clients');
    await sdk.request('GET', 'clients');
    expect(t.server.tokensIssued()).toBe(before);
    expect(counter.calls).toEqual(['GET /v2.01/acme/clients', 'GET /v2.01/acme/clients']);
  });
});

describe('requests and errors', () => {
  it('sends JSON bodies, queries and an Idempotency-Key, and parses the answer', async () => {
    const sdk = client(acme);
    const answer = await sdk.request<{ url: string; method: string }>('POST', '/users/natural', {
      body: { FirstName: 'Ada' },
      query: { page: 2 },
      idempotencyKey: 'abc-123',
    });
    expect(answer).toEqual({ ok: true, url: '/v2.01/acme/users/natural?page=2', method: 'POST' });
    expect(sdk.rateLimits).toEqual([
      { made: 1, remaining: 9, resetAt: 2_000_000_000 },
      { made: 1, remaining: 19, resetAt: 2_000_000_900 },
    ]);
  });

  it('turns an error status into ApiError carrying MANGOPAY’s body', async () => {
    const sdk = client(acme);
    const error = await sdk
      .request('PUT', 'clients', { body: { TechEmails: 'nope' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).body).toMatchObject({
      Type: 'param_error',
      errors: { TechEmails: expect.any(String) },
    });
  });

  it('client.fetch adds authentication, and refuses to send credentials to another origin', async () => {
    const sdk = client(acme);
    const response = await sdk.fetch('/v2.01/acme/clients');
    expect(response.status).toBe(200);
    await expect(sdk.fetch('https://example.test/v2.01/acme/clients')).rejects.toBeInstanceOf(
      ConfigurationError,
    );
  });

  it('reports an unreachable server as NetworkError', async () => {
    const sdk = new PortcullisClient({
      baseUrl: 'https://127.0.0.1:9',
      clientId: 'acme',
      apiKey: acme.apiKey,
    });
    const error = await sdk.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).code).toBe('ERR_NETWORK');
  });

  it('times out with TimeoutError', async () => {
    const sdk = client(acme, { timeoutMs: 300 });
    await sdk.getAccessToken();
    await expect(sdk.request('GET', 'slow')).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('429 rate limiting', () => {
  it('waits for Retry-After and retries, reporting the wait', async () => {
    rateLimitedUntil = Date.now() + 500;
    const sdk = client(acme);
    const waits: (number | undefined)[] = [];
    sdk.on('rateLimited', (event) => waits.push(event.waitMs));
    const started = Date.now();
    const answer = await sdk.request<{ ok: boolean }>('GET', 'limited');
    expect(answer.ok).toBe(true);
    expect(waits).toEqual([1000]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('throws RateLimitError with the limits after the configured retries', async () => {
    const sdk = client(acme, { maxRateLimitRetries: 1 });
    const error = await sdk.request('GET', 'limited/always').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(1000);
    expect((error as RateLimitError).rateLimits).toHaveLength(2);
    expect((error as RateLimitError).rateLimits[0]?.remaining).toBe(0);
  });

  it('does not wait longer than maxRetryDelayMs', async () => {
    const sdk = client(acme, { maxRetryDelayMs: 10 });
    const started = Date.now();
    await expect(sdk.request('GET', 'limited/always')).rejects.toBeInstanceOf(RateLimitError);
    expect(Date.now() - started).toBeLessThan(900);
  });
});

describe('refusals', () => {
  it('refuses http: URLs unless dangerouslyAllowInsecureHttp is set', () => {
    const options = { baseUrl: 'http://127.0.0.1:8443', clientId: 'acme', apiKey: 'k' };
    expect(() => new PortcullisClient(options)).toThrow(InsecureTransportError);
    expect(() => new PortcullisClient({ ...options, dangerouslyAllowInsecureHttp: true })).not.toThrow();
  });

  it('refuses to run in a browser, saying why', () => {
    const scope = globalThis as { window?: unknown; document?: unknown };
    scope.window = {};
    scope.document = {};
    try {
      expect(() => client(acme)).toThrow(BrowserEnvironmentError);
      expect(() => client(acme)).toThrow(/expose the key/);
    } finally {
      delete scope.window;
      delete scope.document;
    }
  });

  it.each([
    [{ clientId: '' }, /clientId/],
    [{ apiKey: undefined }, /apiKey/],
    [{ baseUrl: 'not a url' }, /baseUrl/],
    [{ auth: 'digest' }, /auth/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    [{ refreshMarginSeconds: -1 }, /refreshMarginSeconds/],
  ])('validates options on entry: %j', (override, message) => {
    const options = {
      baseUrl: t.baseUrl,
      clientId: 'acme',
      apiKey: 'k',
      ...override,
    } as PortcullisClientOptions;
    expect(() => new PortcullisClient(options)).toThrow(ConfigurationError);
    expect(() => new PortcullisClient(options)).toThrow(message);
  });

  it('never changes the options object', () => {
    const options = Object.freeze({ baseUrl: `${t.baseUrl}/`, clientId: 'acme', apiKey: 'k' });
    new PortcullisClient(options);
    expect(options.baseUrl).toBe(`${t.baseUrl}/`);
  });
});
