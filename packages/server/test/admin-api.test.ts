import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  basicHeader,
  startTestServer,
  type TestRequest,
  type TestResponse,
  type TestServer,
} from './helpers/harness.js';

/**
 * The admin API (`/admin/v1/` on the admin listener): Bearer admin tokens with roles, the operations of
 * the CLI, problem details (RFC 9457) for every refusal.
 */
let t: TestServer;
let operator: string;
let viewer: string;

beforeAll(async () => {
  t = await startTestServer();
  operator = await t.createAdmin('ops', 'operator');
  viewer = await t.createAdmin('auditor', 'viewer');
});
afterAll(() => t.close());

function call(token: string, request: TestRequest): Promise<TestResponse> {
  const body = typeof request.body === 'string' ? request.body : undefined;
  return t.adminRequest({
    ...request,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...request.headers,
    },
  });
}

describe('admin authentication', () => {
  it('refuses a request without credentials with 401 and a Bearer challenge (RFC 6750 §3)', async () => {
    const response = await t.adminRequest({ path: '/admin/v1/clients' });
    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="portcullis-admin"');
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json()).toMatchObject({ status: 401, code: 'authentication_required' });
  });

  it('refuses an unknown path to a caller without a token with 401, not 404', async () => {
    const response = await t.adminRequest({ path: '/admin/v1/nothing' });
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
    const onAdmin = await t.adminRequest({
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
    const trail = await t.server.store.readAudit({ clientId: 'acme', limit: 10 });
    expect(trail.at(-1)).toMatchObject({ type: 'client.updated', actor: 'ops' });
  });
});
