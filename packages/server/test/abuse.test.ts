import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateKey } from '../src/admin/keys.js';
import {
  basicHeader,
  logLineWith,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
  waitUntil,
} from './helpers/harness.js';

let t: TestServer;
let acme: TestClient;

beforeAll(async () => {
  t = await startTestServer();
  acme = await t.createClient('acme');
});
afterAll(() => t.close());

describe('server to server only (MANGOPAY: never from a user’s browser)', () => {
  it.each([
    ['Origin', 'https://shop.example'],
    ['Sec-Fetch-Site', 'cross-site'],
    ['Sec-Fetch-Dest', 'empty'],
    ['Sec-Fetch-Mode', 'navigate'],
  ])(
    'refuses an API call carrying %s with 403 browser_not_allowed, even with valid credentials',
    async (name, value) => {
      const response = await t.request({
        path: '/v2.01/acme/clients',
        headers: { authorization: acme.basic, [name]: value },
      });
      expect(response.status).toBe(403);
      expect(response.json()).toMatchObject({ Type: 'browser_not_allowed' });
      expect(response.json().Message).toMatch(/server-to-server/);
      expect(Object.keys(response.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    },
  );

  it('lets Sec-Fetch-Mode: cors alone through, as Node’s fetch sends it on every request', async () => {
    const response = await t.request({
      path: '/v2.01/acme/clients',
      headers: { authorization: acme.basic, 'sec-fetch-mode': 'cors' },
    });
    expect(response.status).toBe(200);
  });

  it('refuses the token endpoint from a browser, in the OAuth error shape', async () => {
    const response = await t.request({
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: {
        authorization: acme.basic,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://shop.example',
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(403);
    expect(response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('answers a CORS preflight with 403 and no Access-Control-* header', async () => {
    const response = await t.request({
      method: 'OPTIONS',
      path: '/v2.01/oauth/token',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(response.status).toBe(403);
    expect(Object.keys(response.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});

describe('API rate limits, the way MANGOPAY sets them', () => {
  let limited: TestServer;
  let client: TestClient;
  let other: TestClient;

  beforeAll(async () => {
    limited = await startTestServer({ rateLimits: '3/1h,5/1d', tokenLimit: 'off' });
    client = await limited.createClient('busy');
    other = await limited.createClient('calm');
  });
  afterAll(() => limited.close());

  it('states every window in X-RateLimit headers, then answers 429 rate_limit with Retry-After', async () => {
    const get = (c: TestClient) =>
      limited.request({ path: `/v2.01/${c.clientId}/clients`, headers: { authorization: c.basic } });
    const first = await get(client);
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit']).toBe('1,1');
    expect(first.headers['x-ratelimit-remaining']).toBe('2,4');
    const resets = (first.headers['x-ratelimit-reset'] as string).split(',').map(Number);
    expect(resets).toHaveLength(2);
    const nowSeconds = Date.now() / 1000;
    expect(resets[0]).toBeGreaterThan(nowSeconds);
    expect(resets[0]).toBeLessThanOrEqual(nowSeconds + 3600);
    await get(client);
    await get(client);
    const refused = await get(client);
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ Type: 'rate_limit' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(3600);
    // The refused call is not counted, in any window, however many processes count together.
    expect(refused.headers['x-ratelimit-remaining']).toBe('0,2');
    // Other clients are counted apart.
    expect((await get(other)).status).toBe(200);
  });

  it('sends no rate-limit headers when limits are off', async () => {
    const unlimited = await startTestServer({ rateLimits: 'off' });
    try {
      const c = await unlimited.createClient('free');
      const response = await unlimited.request({
        path: '/v2.01/free/clients',
        headers: { authorization: c.basic },
      });
      expect(response.headers['x-ratelimit']).toBeUndefined();
    } finally {
      await unlimited.close();
    }
  });
});

describe('token minting limit (MANGOPAY: "You must not create a token for every API call")', () => {
  it('answers 429 with Retry-After and tells the client to reuse its token; other clients are unaffected', async () => {
    const limited = await startTestServer({ tokenLimit: '2/10m' });
    try {
      const minter = await limited.createClient('minter');
      const polite = await limited.createClient('polite');
      const ask = (c: TestClient) =>
        limited.request({
          method: 'POST',
          path: '/v2.01/oauth/token',
          headers: { authorization: c.basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
      expect((await ask(minter)).status).toBe(200);
      expect((await ask(minter)).status).toBe(200);
      const refused = await ask(minter);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json().error_description).toMatch(/reuse your access token until it expires/);
      expect((await ask(polite)).status).toBe(200);
      await logLineWith(limited, 'token limit reached for client minter');
    } finally {
      await limited.close();
    }
  });
});

describe('brute-force protection (RFC 6749 §2.3.1)', () => {
  let guarded: TestServer;
  let victim: TestClient;
  let bystander: TestClient;

  beforeAll(async () => {
    guarded = await startTestServer({
      failedAuthLimitPerClient: '3/15m',
      failedAuthLimitPerAddress: '6/15m',
    });
    victim = await guarded.createClient('victim');
    bystander = await guarded.createClient('bystander');
  });
  afterAll(() => guarded.close());

  const token = (authorization: string, localAddress = '127.0.0.1') =>
    guarded.request({
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
      localAddress,
    });
  const wrong = (clientId: string) => basicHeader(clientId, `pcl_sandbox_${'x'.repeat(38)}`);

  it('after the limit, refuses even the right key from that address for that client, with Retry-After', async () => {
    for (let i = 0; i < 3; i++) expect((await token(wrong('victim'))).status).toBe(401);
    const blocked = await token(victim.basic);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    const api = await guarded.request({
      path: '/v2.01/victim/clients',
      headers: { authorization: victim.basic },
    });
    expect(api.status).toBe(429);
    expect(api.json()).toMatchObject({ Type: 'rate_limit' });
  });

  it('leaves the same client from another address, and other clients, unaffected', async () => {
    expect((await token(victim.basic, '127.0.0.2')).status).toBe(200);
    expect((await token(bystander.basic)).status).toBe(200);
  });

  it('does not count credentials that have ended: a fleet behind one address keeps its new key after a rotation with no grace', async () => {
    // The incident response: rotate with --grace-hours 0 while many instances behind one NAT still send
    // the old key and its token. They are refused (401), and not counted as guesses.
    const fleet = await guarded.createClient('fleet');
    const oldToken = await guarded.token(fleet);
    const { apiKey: newKey } = await rotateKey(guarded.context, 'fleet', fleet.keyId, 0);
    const nat = '127.0.0.5';
    const api = (authorization: string) =>
      guarded.request({ path: '/v2.01/fleet/clients', headers: { authorization }, localAddress: nat });
    await waitUntil(async () => (await api(`Bearer ${oldToken}`)).status === 401, 2000);
    const refusals = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0 ? token(fleet.basic, nat) : api(i % 2 === 0 ? fleet.basic : `Bearer ${oldToken}`),
      ),
    );
    const statuses = refusals.map((response) => response.status);
    expect(statuses).not.toContain(429);
    // A worker process may not have read the change yet for a moment; most have.
    expect(statuses.filter((status) => status === 401).length).toBeGreaterThan(20);
    expect((await api(basicHeader('fleet', newKey))).status).toBe(200);
    expect((await token(basicHeader('fleet', newKey), nat)).status).toBe(200);
  });

  it('still counts wrong keys for a client whose old key has ended', async () => {
    const rotated = await guarded.createClient('rotated');
    const { apiKey: newKey } = await rotateKey(guarded.context, 'rotated', rotated.keyId, 0);
    for (let i = 0; i < 3; i++) {
      expect((await token(basicHeader('rotated', mistyped(newKey)), '127.0.0.6')).status).toBe(401);
    }
    expect((await token(basicHeader('rotated', newKey), '127.0.0.6')).status).toBe(429);
  });

  it('holds back an address that fails across many ClientIds', async () => {
    for (const clientId of ['a1', 'a2', 'a3'])
      expect((await token(wrong(clientId), '127.0.0.3')).status).toBe(401);
    for (const clientId of ['a4', 'a5', 'a6']) await token(wrong(clientId), '127.0.0.3');
    expect((await token(bystander.basic, '127.0.0.3')).status).toBe(429);
    expect((await token(bystander.basic, '127.0.0.4')).status).toBe(200);
  });
});
