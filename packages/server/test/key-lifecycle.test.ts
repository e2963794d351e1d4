import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateClientSettings } from '../src/admin/clients.js';
import { createIntrospector, revokeIntrospector } from '../src/admin/introspectors.js';
import { revokeKey, rotateKey } from '../src/admin/keys.js';
import {
  basicHeader,
  plainHttpRequest,
  startTestServer,
  type TestClient,
  type TestServer,
  waitUntil,
} from './helpers/harness.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ failedAuthLimitPerClient: 'off', failedAuthLimitPerAddress: 'off' });
});
afterAll(() => t.close());

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function getClients(clientId: string, authorization: string) {
  return t.request({ path: `/v2.01/${clientId}/clients`, headers: { authorization } });
}

function putClients(clientId: string, authorization: string) {
  return t.request({
    method: 'PUT',
    path: `/v2.01/${clientId}/clients`,
    headers: { authorization, 'content-type': 'application/json' },
    body: '{"PlatformDescription":"updated"}',
  });
}

function oauthPost(path: string, authorization: string, body: string) {
  return t.request({ method: 'POST', path, headers: { ...FORM, authorization }, body });
}

describe('key scopes', () => {
  let reader: TestClient;
  let writer: TestClient;

  beforeAll(async () => {
    writer = await t.createClient('scoped');
    reader = await t.createKey('scoped', { scope: 'read', alias: 'reporting' });
  });

  it('a read key may GET but not PUT: 403 insufficient_scope in MANGOPAY’s shape', async () => {
    expect((await getClients('scoped', reader.basic)).status).toBe(200);
    const refused = await putClients('scoped', reader.basic);
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ Type: 'insufficient_scope', errors: null });
    expect((await putClients('scoped', writer.basic)).status).toBe(200);
  });

  it('a token carries its key’s scope; RFC 6750 §3.1 challenge names the missing scope', async () => {
    const bearer = `Bearer ${await t.token(reader)}`;
    expect((await getClients('scoped', bearer)).status).toBe(200);
    const refused = await putClients('scoped', bearer);
    expect(refused.status).toBe(403);
    expect(refused.json()).toMatchObject({ Type: 'insufficient_scope' });
    expect(refused.headers['www-authenticate']).toMatch(
      /^Bearer .*error="insufficient_scope".*scope="write"/,
    );
  });

  it('RFC 6749 §3.3: a write key may ask for a read-only token, which then cannot write', async () => {
    const bearer = `Bearer ${await t.token(writer, 'grant_type=client_credentials&scope=read')}`;
    expect((await getClients('scoped', bearer)).status).toBe(200);
    expect((await putClients('scoped', bearer)).status).toBe(403);
    const full = `Bearer ${await t.token(writer, 'grant_type=client_credentials&scope=read%20write')}`;
    expect((await putClients('scoped', full)).status).toBe(200);
  });

  it.each([
    ['more than the key has', 'write', () => reader],
    ['an unknown scope', 'admin', () => writer],
    ['an unknown scope beside a known one', 'read admin', () => writer],
  ])('RFC 6749 §5.2: %s is invalid_scope', async (_, scope, client) => {
    const response = await oauthPost(
      '/v2.01/oauth/token',
      client().basic,
      `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`,
    );
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('key rotation', () => {
  it('the new key keeps alias and scope; the old works through the grace, then stops with its tokens', async () => {
    const old = await t.createClient('rotating', { alias: 'backend', scope: 'read' });
    const oldBearer = `Bearer ${await t.token(old)}`;
    // A grace of 1.5 s, given in hours as the CLI gives it.
    const rotated = await rotateKey(t.context, 'rotating', old.keyId, 1.5 / 3600);
    expect(rotated.key).toMatchObject({ alias: 'backend', scope: 'read' });
    expect(rotated.old.replacedBy).toBe(rotated.key.keyId);
    const fresh = basicHeader('rotating', rotated.apiKey);
    // Management changes reach the server through the change feed, as the CLI's do.
    await waitUntil(async () => (await getClients('rotating', fresh)).status === 200, 1000);
    expect((await getClients('rotating', old.basic)).status).toBe(200);
    expect((await getClients('rotating', oldBearer)).status).toBe(200);
    await t.advanceClock(1500);
    await waitUntil(async () => (await getClients('rotating', old.basic)).status === 401, 5000, 100);
    expect((await getClients('rotating', oldBearer)).status).toBe(401);
    expect((await getClients('rotating', fresh)).status).toBe(200);
  });

  it('a grace of 0 ends the old key at once; a revoked key cannot be rotated', async () => {
    const old = await t.createClient('rotate-now');
    const rotated = await rotateKey(t.context, 'rotate-now', old.keyId, 0);
    expect(rotated.old.revokedAt).not.toBeNull();
    await waitUntil(async () => (await getClients('rotate-now', old.basic)).status === 401, 1000);
    expect((await getClients('rotate-now', basicHeader('rotate-now', rotated.apiKey))).status).toBe(200);
    await expect(rotateKey(t.context, 'rotate-now', old.keyId, 1)).rejects.toThrow(/revoked or expired/);
  });
});

describe('RFC 7009 token revocation', () => {
  let owner: TestClient;
  let other: TestClient;

  beforeAll(async () => {
    owner = await t.createClient('revoker');
    other = await t.createClient('bystander');
  });

  it('ends the token at once; other tokens of the same key keep working', async () => {
    const revoked = await t.token(owner);
    const kept = await t.token(owner);
    expect((await getClients('revoker', `Bearer ${revoked}`)).status).toBe(200);
    const response = await oauthPost('/v2.01/oauth/revoke', owner.basic, `token=${revoked}`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const refused = await getClients('revoker', `Bearer ${revoked}`);
    expect(refused.status).toBe(401);
    expect(refused.json()).toMatchObject({ Type: 'invalid_token' });
    expect((await getClients('revoker', `Bearer ${kept}`)).status).toBe(200);
    // Revoking again is still 200 (§2.2).
    expect((await oauthPost('/v2.01/oauth/revoke', owner.basic, `token=${revoked}`)).status).toBe(200);
  });

  it('§2.2: answers 200 for a token that is not valid, and for another client’s token, which it leaves alone', async () => {
    const theirs = await t.token(other);
    expect((await oauthPost('/v2.01/oauth/revoke', owner.basic, `token=${theirs}`)).status).toBe(200);
    expect((await getClients('bystander', `Bearer ${theirs}`)).status).toBe(200);
    expect((await oauthPost('/v2.01/oauth/revoke', owner.basic, 'token=not-a-token')).status).toBe(200);
    const hinted = await oauthPost(
      '/v2.01/oauth/revoke',
      owner.basic,
      'token=not-a-token&token_type_hint=refresh_token',
    );
    expect(hinted.status).toBe(200);
  });

  it('§2.1: requires client authentication and the token parameter', async () => {
    const token = await t.token(owner);
    const anonymous = await t.request({
      method: 'POST',
      path: '/v2.01/oauth/revoke',
      headers: FORM,
      body: `token=${token}`,
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: 'invalid_client' });
    const wrong = await oauthPost(
      '/v2.01/oauth/revoke',
      basicHeader('revoker', other.apiKey),
      `token=${token}`,
    );
    expect(wrong.status).toBe(401);
    expect((await getClients('revoker', `Bearer ${token}`)).status).toBe(200);
    const missing = await oauthPost('/v2.01/oauth/revoke', owner.basic, 'token_type_hint=access_token');
    expect(missing.status).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'invalid_request' });
    const get = await t.request({ path: '/v2.01/oauth/revoke', headers: { authorization: owner.basic } });
    expect(get.status).toBe(405);
  });

  it('holds on another server sharing the store, within the revocation bound', async () => {
    const second = await startTestServer({ dataDir: t.dataDir });
    try {
      const token = await t.token(owner);
      const bearer = `Bearer ${token}`;
      expect(
        (await second.request({ path: '/v2.01/revoker/clients', headers: { authorization: bearer } })).status,
      ).toBe(200);
      await oauthPost('/v2.01/oauth/revoke', owner.basic, `token=${token}`);
      const took = await waitUntil(
        async () =>
          (await second.request({ path: '/v2.01/revoker/clients', headers: { authorization: bearer } }))
            .status === 401,
        1000,
      );
      expect(took).toBeLessThan(1000);
    } finally {
      await second.server.close();
    }
  });
});

describe('RFC 7662 token introspection', () => {
  let client: TestClient;
  let introspector: string;

  beforeAll(async () => {
    client = await t.createClient('introspected');
    const created = await createIntrospector(t.context, 'resource-server');
    introspector = basicHeader(created.introspector.name, created.apiKey);
  });

  it('§2.2: an active token gives active, client_id, scope, exp, iat and token_type', async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = await t.token(client, 'grant_type=client_credentials&scope=read');
    const response = await oauthPost('/v2.01/oauth/introspect', introspector, `token=${token}`);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json<Record<string, unknown>>();
    expect(body).toEqual({
      active: true,
      client_id: 'introspected',
      scope: 'read',
      token_type: 'Bearer',
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
    expect(body.iat).toBeGreaterThanOrEqual(before);
    expect(body.exp).toBe((body.iat as number) + 3600);
  });

  it('§2.2: a revoked, forged or unknown token is {"active":false} and nothing more', async () => {
    const token = await t.token(client);
    await oauthPost('/v2.01/oauth/revoke', client.basic, `token=${token}`);
    for (const candidate of [token, `${token.slice(0, -4)}AAAA`, 'nonsense']) {
      const response = await oauthPost('/v2.01/oauth/introspect', introspector, `token=${candidate}`);
      expect(response.status).toBe(200);
      expect(response.json()).toEqual({ active: false });
    }
  });

  it('§2.1: a client’s own credentials, or none, get 401; a revoked introspector stops', async () => {
    const token = await t.token(client);
    const asClient = await oauthPost('/v2.01/oauth/introspect', client.basic, `token=${token}`);
    expect(asClient.status).toBe(401);
    expect(asClient.json()).toMatchObject({ error: 'invalid_client' });
    expect(asClient.headers['www-authenticate']).toMatch(/^Basic /);
    const created = await createIntrospector(t.context, 'short-lived');
    const shortLived = basicHeader('short-lived', created.apiKey);
    expect((await oauthPost('/v2.01/oauth/introspect', shortLived, `token=${token}`)).status).toBe(200);
    // The same key under another name is refused.
    const renamed = basicHeader('resource-server', created.apiKey);
    expect((await oauthPost('/v2.01/oauth/introspect', renamed, `token=${token}`)).status).toBe(401);
    await revokeIntrospector(t.server.store, 'short-lived');
    // Introspectors are cached for the revocation bound (1 s), not told of changes.
    await t.advanceClock(1100);
    await waitUntil(
      async () => (await oauthPost('/v2.01/oauth/introspect', shortLived, `token=${token}`)).status === 401,
      2000,
      50,
    );
  });
});

describe('exposed keys (a key sent over plain HTTP)', () => {
  it('is flagged, not revoked, by default; the plain request is refused either way', async () => {
    const client = await t.createClient('leaky');
    const answer = await plainHttpRequest(t.port, client.basic, '/v2.01/leaky/clients');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await waitUntil(
      async () => (await t.server.store.listApiKeys('leaky')).some((key) => key.exposedAt !== null),
      2000,
    );
    expect((await getClients('leaky', client.basic)).status).toBe(200);
  });

  it('a wrong key over plain HTTP flags nothing', async () => {
    const client = await t.createClient('careful');
    const spare = await t.createKey('careful');
    await plainHttpRequest(t.port, basicHeader('careful', spare.apiKey.replace(/.{6}$/, 'AAAAAA')));
    await plainHttpRequest(t.port, basicHeader('careful', `${client.apiKey}x`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await t.server.store.listApiKeys('careful')).every((key) => key.exposedAt === null)).toBe(true);
  });

  it('with revokeExposedKeys, the key, or the token, is revoked at once', async () => {
    const strict = await startTestServer({ revokeExposedKeys: true });
    try {
      const client = await strict.createClient('leaky');
      const spare = await strict.createKey('leaky');
      const token = await strict.token(spare);
      await plainHttpRequest(strict.port, client.basic, '/v2.01/leaky/clients');
      await plainHttpRequest(strict.port, `Bearer ${token}`, '/v2.01/leaky/clients');
      const get = (authorization: string) =>
        strict.request({ path: '/v2.01/leaky/clients', headers: { authorization } });
      await waitUntil(async () => (await get(client.basic)).status === 401, 2000);
      await waitUntil(async () => (await get(`Bearer ${token}`)).status === 401, 2000);
      expect((await get(spare.basic)).status).toBe(200);
      const keys = await strict.server.store.listApiKeys('leaky');
      expect(keys.find((key) => key.keyId === client.keyId)).toMatchObject({ exposedAt: expect.any(Number) });
    } finally {
      await strict.close();
    }
  });
});

describe('per-client rate limits', () => {
  it('a client’s own windows replace the server’s, and "default" restores them', async () => {
    const client = await t.createClient('metered');
    await updateClientSettings(t.server.store, 'metered', { rateLimits: '2/1m' });
    const oneWindow = async () => {
      const remaining = (await getClients('metered', client.basic)).headers['x-ratelimit-remaining'];
      return typeof remaining === 'string' && !remaining.includes(',');
    };
    // The call that first sees the new window is the first of its two.
    await waitUntil(oneWindow, 2000);
    const second = await getClients('metered', client.basic);
    expect(second.status).toBe(200);
    expect(second.headers['x-ratelimit-remaining']).toBe('0');
    const refused = await getClients('metered', client.basic);
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ Type: 'rate_limit' });
    await updateClientSettings(t.server.store, 'metered', { rateLimits: null });
    await waitUntil(async () => (await getClients('metered', client.basic)).status === 200, 2000);
    const restored = await getClients('metered', client.basic);
    expect(String(restored.headers['x-ratelimit-remaining']).split(',')).toHaveLength(4);
  });

  it('refuses a malformed setting before it is stored', async () => {
    await expect(
      updateClientSettings(t.server.store, 'metered', { rateLimits: '10 per minute' }),
    ).rejects.toThrow(/COUNT\/WINDOW/);
  });
});

describe('key revocation through management', () => {
  it('a revoked key and its tokens stop at once on this server', async () => {
    const client = await t.createClient('revoked-key');
    const bearer = `Bearer ${await t.token(client)}`;
    await revokeKey(t.server.store, 'revoked-key', client.keyId);
    await waitUntil(async () => (await getClients('revoked-key', client.basic)).status === 401, 1000);
    expect((await getClients('revoked-key', bearer)).status).toBe(401);
  });
});

describe('ClientIds', () => {
  it('are unique regardless of case, since an upstream may compare them case-insensitively', async () => {
    const original = await t.createClient('CaseFolded');
    await expect(t.createClient('casefolded')).rejects.toThrow(/differs from it only in case/);
    await expect(t.createClient('CASEFOLDED')).rejects.toThrow(/differs from it only in case/);
    // Authentication stays exact: the other spelling is not this client.
    expect((await getClients('casefolded', basicHeader('casefolded', original.apiKey))).status).toBe(401);
    expect((await getClients('CaseFolded', original.basic)).status).toBe(200);
  });
});
