import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestClient, type TestServer } from './helpers/harness.js';

let t: TestServer;
let acme: TestClient;

beforeAll(async () => {
  t = await startTestServer();
  acme = await t.createClient('acme');
});
afterAll(() => t.close());

describe('server to server only (the seed: never from a user’s browser)', () => {
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
