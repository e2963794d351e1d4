import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mistyped, startTestServer, type TestClient, type TestServer } from './helpers/harness.js';
import { expectMangopayError } from './helpers/recording-upstream.js';

let t: TestServer;
let acme: TestClient;
let reader: TestClient;

beforeAll(async () => {
  t = await startTestServer();
  acme = await t.createClient('acme');
  await t.createClient('other');
  reader = await t.createKey('acme', { scope: 'read' });
});

afterAll(async () => {
  await t.close();
});

/** A forward-auth check as Traefik and Caddy send it: a GET with the original request in headers. */
function askFor(method: string, uri: string, headers: Record<string, string | string[]> = {}) {
  return t.request({
    path: '/forward-auth',
    headers: { 'x-forwarded-method': method, 'x-forwarded-uri': uri, ...headers },
  });
}

describe('forward-auth', () => {
  it('allows with exactly 200, no body, the identity headers and the limits', async () => {
    const response = await askFor('POST', '/v2.01/acme/users/natural?x=1', {
      authorization: acme.basic,
      'x-client-id': 'other',
    });
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    expect(response.headers['x-client-id']).toBe('acme');
    expect(response.headers['x-api-key-id']).toBe(acme.keyId);
    expect(response.headers['x-auth-method']).toBe('basic');
    expect(response.headers['x-auth-scope']).toBe('read write');
    expect(String(response.headers['x-ratelimit']).split(',')).toHaveLength(4);
    expect(response.headers['x-ratelimit-remaining']).toBeDefined();
    expect(response.headers['x-ratelimit-reset']).toBeDefined();
  });

  it('reads the original request from X-Original-*, or from the path after /forward-auth', async () => {
    const nginxStyle = await t.request({
      method: 'GET',
      path: '/forward-auth',
      headers: {
        authorization: acme.basic,
        'x-original-method': 'PUT',
        'x-original-uri': '/v2.01/acme/users/1',
      },
    });
    expect(nginxStyle.status).toBe(200);
    const envoyStyle = await t.request({
      method: 'DELETE',
      path: '/forward-auth/v2.01/acme/users/1?x=1',
      headers: { authorization: acme.basic },
    });
    expect(envoyStyle.status).toBe(200);
    expect(envoyStyle.headers['x-client-id']).toBe('acme');
  });

  it('accepts Bearer tokens, stating the method and the token’s scope', async () => {
    const token = await t.token(acme, 'grant_type=client_credentials&scope=read');
    const response = await askFor('GET', '/v2.01/acme/users', { authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(response.headers['x-auth-method']).toBe('bearer');
    expect(response.headers['x-auth-scope']).toBe('read');
    const write = await askFor('POST', '/v2.01/acme/users', { authorization: `Bearer ${token}` });
    expect(write.status).toBe(403);
    expect(String(write.headers['www-authenticate'])).toContain('insufficient_scope');
  });

  it('answers 401 with the challenge without credentials or with a wrong key', async () => {
    const none = await askFor('GET', '/v2.01/acme/users');
    expectMangopayError(none, 401, 'authentication_required');
    expect(String(none.headers['www-authenticate'])).toMatch(/Bearer/);
    const wrong = await askFor('GET', '/v2.01/acme/users', {
      authorization: `Basic ${Buffer.from(`acme:${mistyped(acme.apiKey)}`).toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['x-client-id']).toBeUndefined();
  });

  it('answers 403 for another client’s path, and a read key’s write, judged by the original method', async () => {
    expectMangopayError(
      await askFor('GET', '/v2.01/other/users', { authorization: acme.basic }),
      403,
      'forbidden',
    );
    // The forward-auth request itself is a GET: the original method is what the scope is checked against.
    const write = await askFor('DELETE', '/v2.01/acme/users/1', { authorization: reader.basic });
    expectMangopayError(write, 403, 'insufficient_scope');
    expect((await askFor('GET', '/v2.01/acme/users/1', { authorization: reader.basic })).status).toBe(200);
  });

  it.each([
    ['/v2.01/acme/../other/users', 'dot segment'],
    ['/v2.01/acme/%2e%2e/other/users', 'encoded dots'],
    ['/v2.01/acme%2fusers/x', 'encoded slash'],
    ['/v2.01//acme/users', 'empty segment'],
    ['/v2.01/acme/users;x=1/a', 'path parameter'],
    ['/v2.01/acme/users?access_token=abc', 'token in the URL'],
    ['/v2.01/acme/users?a=%zz', 'malformed query'],
    ['/v2.01/oauth/token', 'not an API call'],
    ['/health', 'not an API path'],
    ['v2.01/acme/users', 'not origin-form'],
    ['https://example.com/v2.01/acme/users', 'absolute-form'],
  ])('refuses %s (%s) with 403, never admitting it', async (uri) => {
    const response = await askFor('GET', uri, { authorization: acme.basic });
    expect(response.status).toBe(403);
    expect(response.headers['x-client-id']).toBeUndefined();
  });

  it('refuses with 403 an original request described twice differently, half described, or not at all', async () => {
    const conflicting = await askFor('GET', '/v2.01/acme/users', {
      authorization: acme.basic,
      'x-original-method': 'GET',
      'x-original-uri': '/v2.01/other/users',
    });
    expect(conflicting.status).toBe(403);
    const samePair = await askFor('GET', '/v2.01/acme/users', {
      authorization: acme.basic,
      'x-original-method': 'GET',
      'x-original-uri': '/v2.01/acme/users',
    });
    expect(samePair.status).toBe(200);
    const half = await t.request({
      path: '/forward-auth',
      headers: { authorization: acme.basic, 'x-forwarded-uri': '/v2.01/acme/users' },
    });
    expect(half.status).toBe(403);
    const duplicated = await askFor('GET', '/v2.01/acme/users', {
      authorization: acme.basic,
      'x-forwarded-uri': ['/v2.01/acme/users', '/v2.01/other/users'],
    });
    expect(duplicated.status).toBe(403);
    const badMethod = await askFor('GET /x', '/v2.01/acme/users', { authorization: acme.basic });
    expect(badMethod.status).toBe(403);
    const nothing = await t.request({ path: '/forward-auth/', headers: { authorization: acme.basic } });
    expect(nothing.status).toBe(403);
    expect(nothing.json<{ Message: string }>().Message).toContain('X-Forwarded-Uri');
  });

  it('refuses browsers, as the gateway does (proxies pass the caller’s headers on)', async () => {
    const response = await askFor('GET', '/v2.01/acme/users', {
      authorization: acme.basic,
      origin: 'https://example.com',
    });
    expectMangopayError(response, 403, 'browser_not_allowed');
  });
});

describe('forward-auth under rate limits', () => {
  let limited: TestServer;

  afterAll(async () => {
    await limited?.close();
  });

  it('counts each allowed call, then answers 429 with Retry-After', async () => {
    limited = await startTestServer({ rateLimits: '2/1h', tokenLimit: 'off' });
    const client = await limited.createClient('acme');
    const ask = () =>
      limited.request({
        path: '/forward-auth/v2.01/acme/users',
        headers: { authorization: client.basic },
      });
    expect((await ask()).headers['x-ratelimit']).toBe('1');
    expect((await ask()).headers['x-ratelimit-remaining']).toBe('0');
    const refused = await ask();
    expectMangopayError(refused, 429, 'rate_limit');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['x-client-id']).toBeUndefined();
  });
});
