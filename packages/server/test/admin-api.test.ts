import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import {
  basicHeader,
  startTestServer,
  type TestRequest,
  type TestResponse,
  type TestServer,
  waitUntil,
} from './helpers/harness.js';
import { expectResponseMatches, validateOpenApiDocument } from './helpers/openapi.js';

/**
 * The admin API (`/admin/v1/` on the admin listener): Bearer admin tokens with roles, the operations of
 * the CLI, problem details (RFC 9457) for every refusal. Every answer this file receives is held to the
 * OpenAPI document the listener serves.
 */
let t: TestServer;
let operator: string;
let viewer: string;
let document: Record<string, unknown>;
/** Every admin answer received, to look for secrets in the end. */
const answers: { readonly request: TestRequest; readonly response: TestResponse }[] = [];

beforeAll(async () => {
  t = await startTestServer();
  operator = await t.createAdmin('ops', 'operator');
  viewer = await t.createAdmin('auditor', 'viewer');
  const served = await t.adminRequest({ path: '/admin/v1/openapi.json' });
  expect(served.status).toBe(200);
  document = served.json<Record<string, unknown>>();
  expectResponseMatches(document, {
    method: 'GET',
    path: '/admin/v1/openapi.json',
    status: served.status,
    headers: served.headers,
    body: served.text,
  });
});
afterAll(() => t.close());

/** A request to the admin listener, its answer held to the document. */
async function send(request: TestRequest): Promise<TestResponse> {
  const response = await t.adminRequest(request);
  answers.push({ request, response });
  const method = request.method ?? 'GET';
  const observed = { method, path: request.path, status: response.status, headers: response.headers };
  // A path or method the document does not have can only be refused (401, 404, 405, 429): those answers
  // are the same at every path, so they are held to a documented operation's.
  const path = documented(method, request.path) ? request.path : '/admin/v1/clients/any';
  expectResponseMatches(document, {
    ...observed,
    ...(path !== request.path && { method: 'GET' }),
    path,
    body: response.text,
  });
  return response;
}

function documented(method: string, rawPath: string): boolean {
  const path = rawPath.split('?')[0] as string;
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).some(
    ([template, item]) =>
      new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path) &&
      (method.toLowerCase() in item || (method === 'HEAD' && 'get' in item)),
  );
}

function call(token: string, request: TestRequest): Promise<TestResponse> {
  const body = typeof request.body === 'string' ? request.body : undefined;
  return send({
    ...request,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...request.headers,
    },
  });
}

function post(token: string, path: string, body: unknown): Promise<TestResponse> {
  return call(token, { method: 'POST', path, body: JSON.stringify(body) });
}

async function createdKey(clientId: string, body: unknown = {}): Promise<{ keyId: string; apiKey: string }> {
  const response = await post(operator, `/admin/v1/clients/${clientId}/keys`, body);
  expect(response.status).toBe(201);
  return response.json<{ keyId: string; apiKey: string }>();
}

/** Every page of a listing, following `next_cursor` until it is null. */
async function allPages<T>(token: string, path: string): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const response = await call(token, {
      path: cursor === null ? path : `${path}${separator}cursor=${cursor}`,
    });
    expect(response.status).toBe(200);
    const page = response.json<{ data: T[]; next_cursor: string | null }>();
    items.push(...page.data);
    cursor = page.next_cursor;
    pages++;
  } while (cursor !== null);
  return { items, pages };
}

describe('the OpenAPI document', () => {
  it('is served without credentials at /admin/v1/openapi.json and is a valid OpenAPI 3.1 document', async () => {
    await validateOpenApiDocument(document);
    expect(document.openapi).toBe('3.1.0');
    const head = await send({ method: 'HEAD', path: '/admin/v1/openapi.json' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('describes every operation of the admin API', () => {
    const paths = document.paths as Record<string, Record<string, unknown>>;
    const operations = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((name) => name !== 'parameters')
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const operation of [
      'GET /admin/v1/clients/{clientId}/keys',
      'POST /admin/v1/clients/{clientId}/keys',
      'POST /admin/v1/clients/{clientId}/keys/{keyId}/rotate',
      'DELETE /admin/v1/clients/{clientId}/keys/{keyId}',
      'GET /admin/v1/introspectors',
      'DELETE /admin/v1/admins/{name}',
      'GET /admin/v1/audit',
      'GET /metrics',
    ]) {
      expect(operations).toContain(operation);
    }
  });

  it('takes GET and HEAD only, and no URL parameters', async () => {
    const wrong = await send({ method: 'POST', path: '/admin/v1/openapi.json' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect(wrong.headers['content-type']).toBe('application/problem+json');
    const query = await send({ path: '/admin/v1/openapi.json?x=1' });
    expect(query.status).toBe(400);
  });
});

describe('admin authentication', () => {
  it('refuses a request without credentials with 401 and a Bearer challenge (RFC 6750 §3)', async () => {
    const response = await send({ path: '/admin/v1/clients' });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="portcullis-admin"');
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json()).toMatchObject({ status: 401, code: 'authentication_required' });
  });

  it('refuses an unknown path to a caller without a token with 401, not 404', async () => {
    const response = await send({ path: '/admin/v1/nothing' });
    expect(response.status).toBe(401);
  });

  it('lets a viewer read and not write (403)', async () => {
    expect((await call(viewer, { path: '/admin/v1/clients' })).status).toBe(200);
    const write = await call(viewer, {
      method: 'POST',
      path: '/admin/v1/clients',
      body: JSON.stringify({ clientId: 'nope' }),
    });
    expect(write.status).toBe(403);
    expect(write.json()).toMatchObject({ code: 'forbidden' });
  });

  it('keeps admin tokens and API keys apart: neither works on the other listener', async () => {
    const created = await call(operator, {
      method: 'POST',
      path: '/admin/v1/clients',
      body: JSON.stringify({ clientId: 'apart' }),
    });
    const { apiKey } = created.json<{ key: { apiKey: string } }>().key;
    const onPublic = await t.request({
      path: '/v2.01/apart/clients',
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(onPublic.status).toBe(401);
    const onAdmin = await send({
      path: '/admin/v1/clients',
      headers: { authorization: basicHeader('apart', apiKey) },
    });
    expect(onAdmin.status).toBe(401);
    const keyAsBearer = await call(apiKey, { path: '/admin/v1/clients' });
    expect(keyAsBearer.status).toBe(401);
    expect(keyAsBearer.headers['www-authenticate']).toBe(
      'Bearer realm="portcullis-admin", error="invalid_token"',
    );
  });
});

describe('/admin/v1/clients', () => {
  it('creates a client with its first key (201), whose key then works on the public API', async () => {
    const response = await call(operator, {
      method: 'POST',
      path: '/admin/v1/clients',
      body: JSON.stringify({ clientId: 'acme', name: 'Acme Ltd', tokenTtl: 600 }),
    });
    expect(response.status).toBe(201);
    const body = response.json<{ client: Record<string, unknown>; key: { keyId: string; apiKey: string } }>();
    expect(body.client).toMatchObject({
      clientId: 'acme',
      name: 'Acme Ltd',
      status: 'active',
      tokenTtl: 600,
    });
    expect(body.key.apiKey).toMatch(/^pcl_sandbox_/);
    const api = await t.request({
      path: '/v2.01/acme/clients',
      headers: { authorization: basicHeader('acme', body.key.apiKey) },
    });
    expect(api.status).toBe(200);
  });

  it('answers 409 for a ClientId that exists, 400 naming a bad field', async () => {
    const again = await call(operator, {
      method: 'POST',
      path: '/admin/v1/clients',
      body: JSON.stringify({ clientId: 'acme' }),
    });
    expect(again.status).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict' });
    const bad = await call(operator, {
      method: 'POST',
      path: '/admin/v1/clients',
      body: JSON.stringify({ clientId: 'fine', tokenTtl: 'long', colour: 'red' }),
    });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'invalid_request', errors: { colour: 'unknown field' } });
  });

  it('reads, lists and changes a client, recording the admin as the actor', async () => {
    const read = await call(viewer, { path: '/admin/v1/clients/acme' });
    expect(read.json()).toMatchObject({ clientId: 'acme' });
    const listed = await call(viewer, { path: '/admin/v1/clients?q=ac&limit=1' });
    expect(listed.json()).toMatchObject({ data: [{ clientId: 'acme' }] });
    const changed = await call(operator, {
      method: 'PATCH',
      path: '/admin/v1/clients/acme',
      body: JSON.stringify({ name: 'Acme SA' }),
    });
    expect(changed.json()).toMatchObject({ name: 'Acme SA' });
    const trail = await t.context.store.readAudit({ clientId: 'acme', limit: 10 });
    expect(trail.at(-1)).toMatchObject({ type: 'client.updated', actor: 'ops' });
  });
});

describe('/admin/v1/clients: refusals and paging', () => {
  it('answers 404 for no such client, 405 with Allow for a method the path does not take', async () => {
    const missing = await call(viewer, { path: '/admin/v1/clients/nobody' });
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'not_found', type: 'urn:portcullis:problem:not_found' });
    const put = await call(operator, { method: 'PUT', path: '/admin/v1/clients', body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
    const unknown = await call(operator, { path: '/admin/v1/nothing' });
    expect(unknown.status).toBe(404);
  });

  it('names a bad URL parameter and a cursor it did not give', async () => {
    const unknown = await call(viewer, { path: '/admin/v1/clients?colour=red' });
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({ errors: { colour: 'unknown parameter' } });
    const cursor = await call(viewer, { path: '/admin/v1/clients?cursor=bm90LWEtY2xpZW50IQ' });
    expect(cursor.status).toBe(400);
    expect(cursor.json()).toMatchObject({ errors: { cursor: expect.any(String) } });
    const limit = await call(viewer, { path: '/admin/v1/clients?limit=0' });
    expect(limit.json()).toMatchObject({ errors: { limit: expect.any(String) } });
  });

  it('pages through every client exactly once', async () => {
    const ids = ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e'];
    for (const clientId of ids)
      expect((await post(operator, '/admin/v1/clients', { clientId })).status).toBe(201);
    const { items, pages } = await allPages<{ clientId: string }>(viewer, '/admin/v1/clients?q=pg-&limit=2');
    expect(items.map((client) => client.clientId)).toEqual(ids);
    expect(pages).toBe(3);
  });
});

describe('/admin/v1/clients/{clientId}/keys', () => {
  beforeAll(async () => {
    expect((await post(operator, '/admin/v1/clients', { clientId: 'keyed' })).status).toBe(201);
    expect((await post(operator, '/admin/v1/clients', { clientId: 'other' })).status).toBe(201);
  });

  it('creates a key (201, the key shown once) that works on the public API; lists keys without them', async () => {
    const created = await createdKey('keyed', { alias: 'ci', scopes: 'read', expiresInDays: 30 });
    expect(created).toMatchObject({ alias: 'ci', scope: 'read', status: 'active', environment: 'sandbox' });
    expect(created.apiKey).toMatch(/^pcl_sandbox_/);
    const api = await t.request({
      path: '/v2.01/keyed/clients',
      headers: { authorization: basicHeader('keyed', created.apiKey) },
    });
    expect(api.status).toBe(200);
    const listed = await call(viewer, { path: '/admin/v1/clients/keyed/keys' });
    expect(listed.status).toBe(200);
    const keys = listed.json<{ data: Record<string, unknown>[] }>().data;
    expect(keys.map((key) => key.keyId)).toContain(created.keyId);
    expect(listed.text).not.toContain('pcl_');
    expect(keys.every((key) => !('apiKey' in key))).toBe(true);
  });

  it('takes OAuth\'s space-delimited scopes: "read write" is write', async () => {
    expect(await createdKey('keyed', { scopes: 'read write' })).toMatchObject({ scope: 'write' });
    expect(await createdKey('keyed')).toMatchObject({ scope: 'write', alias: null, expiresAt: null });
  });

  it('answers 400 naming each bad field, 404 for no such client, 403 to a viewer', async () => {
    const bad = await post(operator, '/admin/v1/clients/keyed/keys', { scopes: 'admin', expiresInDays: 0 });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({
      code: 'invalid_request',
      errors: { scopes: expect.any(String), expiresInDays: 'must be an integer from 1 to 3650' },
    });
    const alias = await post(operator, '/admin/v1/clients/keyed/keys', { alias: '' });
    expect(alias.json()).toMatchObject({ errors: { alias: expect.any(String) } });
    expect((await post(operator, '/admin/v1/clients/nobody/keys', {})).status).toBe(404);
    expect((await post(viewer, '/admin/v1/clients/keyed/keys', {})).status).toBe(403);
    const notJson = await call(operator, {
      method: 'POST',
      path: '/admin/v1/clients/keyed/keys',
      body: 'alias=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(notJson.status).toBe(400);
  });

  it('rotates a key (201: the new key once, the old one in its grace period)', async () => {
    const first = await createdKey('keyed', { alias: 'rot', scopes: 'read' });
    const rotated = await post(operator, `/admin/v1/clients/keyed/keys/${first.keyId}/rotate`, {
      graceHours: 2,
    });
    expect(rotated.status).toBe(201);
    const body = rotated.json<{ key: { keyId: string; apiKey: string }; old: { expiresAt: string } }>();
    expect(body.key).toMatchObject({ alias: 'rot', scope: 'read', status: 'active' });
    expect(body.key.apiKey).toMatch(/^pcl_/);
    expect(body.old).toMatchObject({ keyId: first.keyId, replacedBy: body.key.keyId, status: 'active' });
    const graceEnd = Date.parse(body.old.expiresAt) - Date.now();
    expect(graceEnd).toBeGreaterThan(3_600_000);
    expect(graceEnd).toBeLessThanOrEqual(2 * 3_600_000 + 60_000);
    const badGrace = await post(operator, `/admin/v1/clients/keyed/keys/${body.key.keyId}/rotate`, {
      graceHours: 8761,
    });
    expect(badGrace.json()).toMatchObject({ errors: { graceHours: 'must be an integer from 0 to 8760' } });
  });

  it('revokes a key with DELETE (200 with the revoked key), then refuses to rotate it (409)', async () => {
    const key = await createdKey('keyed');
    const revoked = await call(operator, {
      method: 'DELETE',
      path: `/admin/v1/clients/keyed/keys/${key.keyId}`,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.json()).toMatchObject({ keyId: key.keyId, status: 'revoked' });
    const again = await call(operator, {
      method: 'DELETE',
      path: `/admin/v1/clients/keyed/keys/${key.keyId}`,
    });
    expect(again.status).toBe(200);
    const rotate = await post(operator, `/admin/v1/clients/keyed/keys/${key.keyId}/rotate`, {});
    expect(rotate.status).toBe(409);
    expect(rotate.json()).toMatchObject({ code: 'conflict' });
  });

  it("answers 404 for another client's key, and leaves that key alone", async () => {
    const key = await createdKey('keyed');
    const path = `/admin/v1/clients/other/keys/${key.keyId}`;
    expect((await call(operator, { method: 'DELETE', path })).status).toBe(404);
    expect((await post(operator, `${path}/rotate`, {})).status).toBe(404);
    const api = await t.request({
      path: '/v2.01/keyed/clients',
      headers: { authorization: basicHeader('keyed', key.apiKey) },
    });
    expect(api.status).toBe(200);
    const get = await call(operator, { path });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('DELETE');
  });
});

describe('/admin/v1/introspectors', () => {
  it('creates (201, key once), lists to a viewer, revokes, and refuses what it must', async () => {
    const created = await post(operator, '/admin/v1/introspectors', { name: 'gateway' });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'gateway',
      status: 'active',
      apiKey: expect.stringMatching(/^pcl_/),
    });
    expect((await post(operator, '/admin/v1/introspectors', { name: 'gateway' })).status).toBe(409);
    const bad = await post(operator, '/admin/v1/introspectors', { name: 'no way' });
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ errors: { name: expect.any(String) } });
    const missing = await post(operator, '/admin/v1/introspectors', {});
    expect(missing.json()).toMatchObject({ errors: { name: 'required' } });
    expect((await post(viewer, '/admin/v1/introspectors', { name: 'sneaky' })).status).toBe(403);
    const listed = await call(viewer, { path: '/admin/v1/introspectors' });
    expect(listed.json()).toMatchObject({ data: [{ name: 'gateway', status: 'active' }] });
    expect(listed.text).not.toContain('pcl_');
    const revoked = await call(operator, { method: 'DELETE', path: '/admin/v1/introspectors/gateway' });
    expect(revoked.json()).toMatchObject({ name: 'gateway', status: 'revoked' });
    expect((await call(operator, { method: 'DELETE', path: '/admin/v1/introspectors/nobody' })).status).toBe(
      404,
    );
  });
});

describe('/admin/v1/admins', () => {
  it('is for operators only, reads included', async () => {
    expect((await call(viewer, { path: '/admin/v1/admins' })).status).toBe(403);
    const listed = await call(operator, { path: '/admin/v1/admins' });
    expect(listed.status).toBe(200);
    expect(listed.json<{ data: { name: string }[] }>().data.map((admin) => admin.name)).toEqual(
      expect.arrayContaining(['auditor', 'ops']),
    );
    expect(listed.text).not.toContain('pca_');
  });

  it('creates an admin whose token (shown once) works with its role; refuses a taken name and a bad role', async () => {
    const created = await post(operator, '/admin/v1/admins', { name: 'reader', role: 'viewer' });
    expect(created.status).toBe(201);
    const { token } = created.json<{ token: string }>();
    expect(created.json()).toMatchObject({ name: 'reader', role: 'viewer', status: 'active' });
    expect(token).toMatch(/^pca_/);
    expect((await call(token, { path: '/admin/v1/clients' })).status).toBe(200);
    expect((await post(token, '/admin/v1/clients', { clientId: 'nope' })).status).toBe(403);
    expect((await post(operator, '/admin/v1/admins', { name: 'reader' })).status).toBe(409);
    const role = await post(operator, '/admin/v1/admins', { name: 'boss', role: 'root' });
    expect(role.status).toBe(400);
    expect(role.json()).toMatchObject({ errors: { role: expect.any(String) } });
  });

  it('revokes another admin (its token refused at once), never itself (409)', async () => {
    const created = await post(operator, '/admin/v1/admins', { name: 'temp', role: 'operator' });
    const { token } = created.json<{ token: string }>();
    const revoked = await call(operator, { method: 'DELETE', path: '/admin/v1/admins/temp' });
    expect(revoked.status).toBe(200);
    expect(revoked.json()).toMatchObject({ name: 'temp', status: 'revoked' });
    expect((await call(token, { path: '/admin/v1/clients' })).status).toBe(401);
    const self = await call(operator, { method: 'DELETE', path: '/admin/v1/admins/ops' });
    expect(self.status).toBe(409);
    expect((await call(operator, { path: '/admin/v1/clients' })).status).toBe(200);
    expect((await call(operator, { method: 'DELETE', path: '/admin/v1/admins/nobody' })).status).toBe(404);
  });
});

describe('/admin/v1/audit', () => {
  it('names a bad type, a time that is not RFC 3339 and an unknown parameter', async () => {
    const type = await call(viewer, { path: '/admin/v1/audit?type=key.stolen' });
    expect(type.status).toBe(400);
    expect(type.json()).toMatchObject({ errors: { type: expect.stringContaining('key.created') } });
    const times = await call(viewer, {
      path: '/admin/v1/audit?since=yesterday&until=2026-02-30T00:00:00Z',
    });
    expect(times.json()).toMatchObject({ errors: { since: expect.any(String), until: expect.any(String) } });
    const unknown = await call(viewer, { path: '/admin/v1/audit?actor=ops' });
    expect(unknown.json()).toMatchObject({ errors: { actor: 'unknown parameter' } });
    const client = await call(viewer, { path: '/admin/v1/audit?client=not%20one' });
    expect(client.json()).toMatchObject({ errors: { client: expect.any(String) } });
  });

  it('filters by client, type and time', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '+00:00');
    const response = await call(viewer, {
      path: `/admin/v1/audit?client=keyed&type=key.revoked&since=${encodeURIComponent(since)}`,
    });
    const entries = response.json<{ data: { clientId: string; type: string; actor: string }[] }>().data;
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries)
      expect(entry).toMatchObject({ clientId: 'keyed', type: 'key.revoked', actor: 'ops' });
    const before = await call(viewer, { path: '/admin/v1/audit?until=2000-01-01T00:00:00Z' });
    expect(before.json()).toEqual({ data: [], next_cursor: null });
  });

  it('pages to the end returning every entry exactly once, in order', async () => {
    const stored = await t.context.store.readAudit({ after: 0, limit: 10_000 });
    const { items, pages } = await allPages<{ id: number; at: string }>(viewer, '/admin/v1/audit?limit=7');
    const ids = items.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(ids).toEqual(expect.arrayContaining(stored.map((entry) => entry.id)));
    expect(pages).toBeGreaterThan(2);
  });

  it('pages from the newest entry down with order=newest, every entry once, and refuses another order', async () => {
    const stored = await t.context.store.readAudit({ after: 0, limit: 10_000 });
    const { items, pages } = await allPages<{ id: number }>(viewer, '/admin/v1/audit?order=newest&limit=7');
    const ids = items.map((entry) => entry.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(stored.map((entry) => entry.id)));
    expect(ids[0]).toBe(Math.max(...stored.map((entry) => entry.id)));
    expect(pages).toBeGreaterThan(2);
    const sideways = await call(viewer, { path: '/admin/v1/audit?order=random' });
    expect(sideways.status).toBe(400);
    expect(sideways.json()).toMatchObject({ errors: { order: 'must be oldest or newest' } });
  });
});

describe('an operator journey: the CLI for the first token, then only the admin API', () => {
  it('creates a client, uses, rotates and revokes its key, and reads it all in the audit trail', async () => {
    const cli = await runCli(['admins', 'create', 'root', '--json', ...t.cliFlags({ announce: true })]);
    expect(cli.code).toBe(0);
    const { token } = JSON.parse(cli.stdout) as { token: string };
    const basic = (apiKey: string) => ({
      path: '/v2.01/journey/clients',
      headers: { authorization: basicHeader('journey', apiKey) },
    });

    const created = await post(token, '/admin/v1/clients', { clientId: 'journey', name: 'Journey' });
    expect(created.status).toBe(201);
    const first = created.json<{ key: { keyId: string; apiKey: string } }>().key;
    expect((await t.requestOnNewConnection(basic(first.apiKey))).status).toBe(200);

    const rotated = await post(token, `/admin/v1/clients/journey/keys/${first.keyId}/rotate`, {
      graceHours: 1,
    });
    expect(rotated.status).toBe(201);
    const second = rotated.json<{ key: { keyId: string; apiKey: string } }>().key;
    expect((await t.requestOnNewConnection(basic(second.apiKey))).status).toBe(200);
    expect((await t.requestOnNewConnection(basic(first.apiKey))).status).toBe(200);

    const revoked = await call(token, {
      method: 'DELETE',
      path: `/admin/v1/clients/journey/keys/${second.keyId}`,
    });
    expect(revoked.status).toBe(200);
    const took = await waitUntil(
      async () => (await t.requestOnNewConnection(basic(second.apiKey))).status === 401,
      1000,
    );
    expect(took).toBeLessThanOrEqual(1000);
    expect((await t.requestOnNewConnection(basic(first.apiKey))).status).toBe(200);

    const trail = await allPages<{ type: string; actor: string | null; keyId: string | null }>(
      token,
      '/admin/v1/audit?client=journey',
    );
    const changes = trail.items.filter((entry) => entry.actor !== null);
    expect(changes.map((entry) => [entry.type, entry.actor])).toEqual([
      ['client.created', 'root'],
      ['key.created', 'root'],
      ['key.rotated', 'root'],
      ['key.revoked', 'root'],
    ]);
  });
});

describe('secrets', () => {
  it('shows API keys and admin tokens only in 201 answers, and never logs them', async () => {
    expect(answers.length).toBeGreaterThan(50);
    for (const { request, response } of answers) {
      if (response.status === 201) continue;
      expect(response.text, `${request.method ?? 'GET'} ${request.path}`).not.toMatch(/pc[la]_/);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const line of t.logLines) expect(line).not.toMatch(/pc[la]_/);
  });
});
