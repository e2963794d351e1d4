import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeAdmin } from '../src/admin/admins.js';
import { adminApiDocument } from '../src/openapi/admin-api.js';
import {
  mistyped,
  startTestServer,
  type TestRequest,
  type TestResponse,
  type TestServer,
} from './helpers/harness.js';
import { documented } from './helpers/openapi.js';

/**
 * The dashboard's sessions on the admin listener: sign-in with an admin token gives a `__Host-` cookie
 * (HttpOnly, Secure, SameSite=Strict) and a CSRF token that every change must carry; sign-out and a
 * revoked admin end the session at once; browsers are served only from the listener's own origin.
 */
let t: TestServer;
let operatorToken: string;
let viewerToken: string;

beforeAll(async () => {
  t = await startTestServer();
  operatorToken = await t.createAdmin('ops', 'operator');
  viewerToken = await t.createAdmin('watcher', 'viewer');
});
afterAll(() => t.close());

/** A request to the admin listener, its answer held to the admin API's OpenAPI document. */
async function adminCall(request: TestRequest, server: TestServer = t): Promise<TestResponse> {
  return documented(adminApiDocument, request, await server.adminRequest(request));
}

interface Session {
  readonly cookie: string;
  readonly csrfToken: string;
  readonly response: TestResponse;
}

async function signIn(token: string, server: TestServer = t): Promise<Session> {
  const response = await adminCall(
    {
      method: 'POST',
      path: '/admin/v1/session',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    },
    server,
  );
  const setCookie = response.headers['set-cookie']?.[0] ?? '';
  return {
    cookie: setCookie.split(';', 1)[0] as string,
    csrfToken: response.status === 201 ? response.json<{ csrfToken: string }>().csrfToken : '',
    response,
  };
}

function inSession(session: Session, request: TestRequest): Promise<TestResponse> {
  return adminCall({ ...request, headers: { cookie: session.cookie, ...request.headers } });
}

const createClient = (clientId: string): TestRequest => ({
  method: 'POST',
  path: '/admin/v1/clients',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ clientId }),
});

describe('sign-in', () => {
  it('sets a __Host- cookie: HttpOnly, Secure, SameSite=Strict, Path=/, for 8 hours (RFC 6265bis)', async () => {
    const session = await signIn(operatorToken);
    expect(session.response.status).toBe(201);
    expect(session.response.headers['set-cookie']).toEqual([
      expect.stringMatching(
        /^__Host-portcullis-session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=28800$/,
      ),
    ]);
    expect(session.response.headers['cache-control']).toBe('no-store');
    const body = session.response.json<Record<string, string>>();
    expect(body).toMatchObject({ name: 'ops', role: 'operator' });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt as string)).toBeGreaterThan(Date.now() + 7 * 3_600_000);
    expect(session.response.text).not.toContain(operatorToken);
  });

  it('gives each sign-in its own session and CSRF token', async () => {
    const [a, b] = [await signIn(operatorToken), await signIn(operatorToken)];
    expect(a.cookie).not.toBe(b.cookie);
    expect(a.csrfToken).not.toBe(b.csrfToken);
  });

  it('refuses a wrong token with 401, and an API key, and a body without one with 400', async () => {
    expect((await signIn(mistyped(operatorToken))).response.status).toBe(401);
    const noToken = await adminCall({
      method: 'POST',
      path: '/admin/v1/session',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noToken.status).toBe(400);
    expect(noToken.json()).toMatchObject({ errors: { token: 'required' } });
  });

  it('reads the session in force: GET /admin/v1/session', async () => {
    const session = await signIn(viewerToken);
    const read = await inSession(session, { path: '/admin/v1/session' });
    expect(read.status).toBe(200);
    expect(read.json()).toMatchObject({ name: 'watcher', role: 'viewer', csrfToken: session.csrfToken });
    expect((await adminCall({ path: '/admin/v1/session' })).status).toBe(401);
  });
});

describe('a session', () => {
  it('reads with the cookie alone', async () => {
    const session = await signIn(operatorToken);
    expect((await inSession(session, { path: '/admin/v1/clients' })).status).toBe(200);
  });

  it('changes only with its own CSRF token: none or another session’s is 403 csrf_token_invalid', async () => {
    const session = await signIn(operatorToken);
    const other = await signIn(operatorToken);
    const bare = await inSession(session, createClient('nocsrf'));
    expect(bare.status).toBe(403);
    expect(bare.json()).toMatchObject({ code: 'csrf_token_invalid' });
    const borrowed = await inSession(session, {
      ...createClient('nocsrf'),
      headers: { 'x-csrf-token': other.csrfToken, 'content-type': 'application/json' },
    });
    expect(borrowed.status).toBe(403);
    const own = await inSession(session, {
      ...createClient('withcsrf'),
      headers: { 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
    });
    expect(own.status).toBe(201);
    const trail = await t.server.store.readAudit({ clientId: 'withcsrf', limit: 5 });
    expect(trail[0]).toMatchObject({ type: 'client.created', actor: 'ops' });
    expect(await t.server.store.getClient('nocsrf')).toBeUndefined();
  });

  it('of a viewer reads and cannot change, CSRF token or not', async () => {
    const session = await signIn(viewerToken);
    const change = await inSession(session, {
      ...createClient('byviewer'),
      headers: { 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
    });
    expect(change.status).toBe(403);
    expect(change.json()).toMatchObject({ code: 'forbidden' });
  });

  it('ends at sign-out: the old cookie no longer works, and the cookie is cleared', async () => {
    const session = await signIn(operatorToken);
    const withoutCsrf = await inSession(session, { method: 'DELETE', path: '/admin/v1/session' });
    expect(withoutCsrf.status).toBe(403);
    const out = await inSession(session, {
      method: 'DELETE',
      path: '/admin/v1/session',
      headers: { 'x-csrf-token': session.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers['set-cookie']?.[0]).toMatch(/^__Host-portcullis-session=; .*Max-Age=0$/);
    const after = await inSession(session, { path: '/admin/v1/clients' });
    expect(after.status).toBe(401);
    expect(after.json()).toMatchObject({ code: 'invalid_token' });
  });

  it('ends when its admin is revoked', async () => {
    const token = await t.createAdmin('leaver', 'operator');
    const session = await signIn(token);
    expect((await inSession(session, { path: '/admin/v1/clients' })).status).toBe(200);
    await revokeAdmin(t.context.store, 'leaver');
    expect((await inSession(session, { path: '/admin/v1/clients' })).status).toBe(401);
  });

  it('refuses a cookie header that names the session twice (400)', async () => {
    const session = await signIn(operatorToken);
    const twice = await adminCall({
      path: '/admin/v1/clients',
      headers: { cookie: `${session.cookie}; ${session.cookie}` },
    });
    expect(twice.status).toBe(400);
  });
});

describe('failed sign-ins and forged sessions', () => {
  it('count like any failed authentication: past the per-address limit, 429 (RFC 6749 §2.3.1)', async () => {
    const guarded = await startTestServer({ failedAuthLimitPerAddress: '3/15m' });
    try {
      const token = await guarded.createAdmin('ops');
      for (let i = 0; i < 2; i++) expect((await signIn(mistyped(token), guarded)).response.status).toBe(401);
      const forged = await adminCall(
        { path: '/admin/v1/clients', headers: { cookie: `__Host-portcullis-session=${'A'.repeat(43)}` } },
        guarded,
      );
      expect(forged.status).toBe(401);
      expect((await signIn(token, guarded)).response.status).toBe(429);
    } finally {
      await guarded.close();
    }
  });
});

describe('browsers on the admin listener', () => {
  it('are served from its own origin, and refused from any other (403)', async () => {
    const session = await signIn(operatorToken);
    const origin = `https://127.0.0.1:${t.adminPort}`;
    const own = await inSession(session, {
      path: '/admin/v1/clients',
      headers: { origin, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
    });
    expect(own.status).toBe(200);
    for (const headers of [
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' },
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate' },
      { origin: 'https://evil.example' },
      { origin: `http://127.0.0.1:${t.adminPort}`, 'sec-fetch-site': 'same-origin' },
    ]) {
      const response = await inSession(session, { path: '/admin/v1/clients', headers });
      expect(response.status).toBe(403);
      expect(response.json()).toMatchObject({ code: 'browser_not_allowed' });
    }
  });

  it('are still refused on the public listener, where nothing of the dashboard is served', async () => {
    for (const path of ['/', '/index.html', '/assets/index.js', '/admin/v1/session']) {
      const response = await t.request({ path });
      expect(response.status).toBe(404);
    }
    const browser = await t.request({
      path: '/v2.01/oauth/token',
      headers: { origin: `https://127.0.0.1:${t.port}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(browser.status).toBe(403);
  });
});
