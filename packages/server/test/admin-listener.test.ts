import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnServer } from './helpers/cli.js';
import {
  mistyped,
  plainHttpRequest,
  startTestServer,
  type TestClient,
  type TestServer,
  tempDataDir,
  tokenRequest,
} from './helpers/harness.js';

/**
 * The admin listener (`--admin-port`, `--admin-host`): a second TLS-only port with the server's
 * certificate, serving the admin rows of the route table and none of the public API's, answering errors
 * as problem details (RFC 9457).
 */
let t: TestServer;
let acme: TestClient;

beforeAll(async () => {
  t = await startTestServer();
  acme = await t.createClient('acme');
});
afterAll(() => t.close());

describe('the admin listener', () => {
  it('is another port than the public one', () => {
    expect(t.adminPort).toBeGreaterThan(0);
    expect(t.adminPort).not.toBe(t.port);
  });

  it.each(['/healthz', '/readyz'])('serves %s, as the public listener does', async (path) => {
    const response = await t.adminRequest({ path });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers an unknown path 404 as problem details (RFC 9457 §3)', async () => {
    const response = await t.adminRequest({ path: '/nothing/here' });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.json()).toEqual({
      type: 'urn:portcullis:problem:not_found',
      title: 'The resource does not exist.',
      status: 404,
      code: 'not_found',
      requestId: response.headers['x-request-id'],
    });
  });

  it('answers a probe refusal in its own shape: 405 as problem details', async () => {
    const response = await t.adminRequest({ method: 'POST', path: '/healthz' });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect(response.json()).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('does not serve the public API: no token endpoint, no API routes', async () => {
    const token = await t.adminRequest(tokenRequest(acme.basic));
    expect(token.status).toBe(404);
    expect(token.json()).toMatchObject({ code: 'not_found' });
    const api = await t.adminRequest({ path: '/v2.01/acme/clients', headers: { authorization: acme.basic } });
    expect(api.status).toBe(404);
    expect(api.json()).toMatchObject({ code: 'not_found' });
  });

  it('answers plain HTTP with 400, as the public port does', async () => {
    const raw = await plainHttpRequest(t.adminPort as number, acme.basic, '/healthz');
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('serve --admin-port', () => {
  it('prints where the admin listener is, and turns it off with "off"', async () => {
    const dataDir = tempDataDir();
    const on = await spawnServer(['--data-dir', dataDir, '--workers', '1', '--admin-port', '0']);
    try {
      expect(on.adminPort).toBeGreaterThan(0);
      expect(on.output()).toMatch(
        /dashboard, admin API, metrics and health on https:\/\/127\.0\.0\.1:\d+\/\n/,
      );
    } finally {
      await on.stop();
    }
    const off = await spawnServer(['--data-dir', dataDir, '--workers', '1', '--admin-port', 'off']);
    try {
      expect(off.adminPort).toBeUndefined();
      expect(off.output()).toContain('portcullis: admin listener off');
    } finally {
      await off.stop();
    }
  });

  it('refuses a port that is not a number or "off", naming the flag', async () => {
    const result = await runCli(['serve', '--data-dir', tempDataDir(), '--admin-port', 'never']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'portcullis: adminPort must be an integer from 0 to 65535, or "off" (--admin-port, PORTCULLIS_ADMIN_PORT)\n',
    );
  });
});

describe('failed admin authentications', () => {
  it('count like any other: past the per-address limit, even a good admin token gets 429 (RFC 6749 §2.3.1)', async () => {
    const guarded = await startTestServer({ failedAuthLimitPerAddress: '3/15m' });
    try {
      const token = await guarded.createAdmin('ops');
      const wrong = mistyped(token);
      for (let i = 0; i < 3; i++) {
        const response = await guarded.adminRequest({
          path: '/admin/v1/clients',
          headers: { authorization: `Bearer ${wrong}` },
        });
        expect(response.status).toBe(401);
        expect(response.json()).toMatchObject({ code: 'invalid_token' });
      }
      const blocked = await guarded.adminRequest({
        path: '/admin/v1/clients',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(blocked.status).toBe(429);
      expect(blocked.headers['retry-after']).toMatch(/^\d+$/);
      expect(blocked.json()).toMatchObject({ code: 'rate_limit' });
      // Another address is not held back.
      const elsewhere = await guarded.adminRequest({
        path: '/admin/v1/clients',
        headers: { authorization: `Bearer ${token}` },
        localAddress: '127.0.0.2',
      });
      expect(elsewhere.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
