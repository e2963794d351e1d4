import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setClientStatus } from '../src/admin/clients.js';
import { revokeKey } from '../src/admin/keys.js';
import {
  basicHeader,
  startTestServer,
  type TestClient,
  type TestServer,
  waitUntil,
} from './helpers/harness.js';

let t: TestServer;
let acme: TestClient;
let globex: TestClient;

beforeAll(async () => {
  // These tests poll with refused credentials until a change applies: the brute-force limit (tested in
  // abuse.test.ts) is lifted so that polling cannot trip it.
  t = await startTestServer({ failedAuthLimitPerClient: 'off' });
  acme = await t.createClient('acme');
  globex = await t.createClient('globex');
});
afterAll(() => t.close());

const clientsPath = (clientId: string) => `/v2.01/${clientId}/clients`;

function expectApiError(response: Awaited<ReturnType<TestServer['request']>>, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/json');
  const body = response.json();
  expect(Object.keys(body).sort()).toEqual(['Date', 'Id', 'Message', 'Type', 'errors']);
  expect(body.Type).toBe(type);
  expect(body.Id).toBe(response.headers['x-request-id']);
  expect(Math.abs((body.Date as number) - Date.now() / 1000)).toBeLessThan(5);
  expect(typeof body.Message).toBe('string');
  return body;
}

describe("Basic authentication on every call (MANGOPAY's first method)", () => {
  it('GET /v2.01/{ClientId}/clients returns the client record with MANGOPAY field names', async () => {
    const response = await t.request({ path: clientsPath('acme'), headers: { authorization: acme.basic } });
    expect(response.status).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ ClientId: 'acme', Name: 'acme', TechEmails: [], PlatformDescription: null });
    expect(typeof body.CreationDate).toBe('number');
  });

  it('answers the header shape of MANGOPAY\'s example: "Basic " + base64("ClientId:API KEY")', () => {
    expect(basicHeader('Aladdin', 'ghsiu6hjqQjj')).toBe('Basic QWxhZGRpbjpnaHNpdTZoanFRamo=');
  });

  it('401 invalid_credentials with a Basic challenge for a wrong key', async () => {
    const response = await t.request({
      path: clientsPath('acme'),
      headers: { authorization: basicHeader('acme', globex.apiKey) },
    });
    expectApiError(response, 401, 'invalid_credentials');
    expect(response.headers['www-authenticate']).toBe('Basic realm="portcullis", charset="UTF-8"');
  });
});

describe('Bearer authentication (RFC 6750 §2.1)', () => {
  it('accepts a token from the token endpoint, with the scheme name in any case', async () => {
    const token = await t.token(acme);
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const response = await t.request({
        path: clientsPath('acme'),
        headers: { authorization: `${scheme} ${token}` },
      });
      expect(response.status).toBe(200);
      expect(response.json().ClientId).toBe('acme');
    }
  });

  it('401 invalid_token with an RFC 6750 §3 challenge for an unknown token', async () => {
    const token = await t.token(acme);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const response = await t.request({
      path: clientsPath('acme'),
      headers: { authorization: `Bearer ${forged}` },
    });
    expectApiError(response, 401, 'invalid_token');
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="The access token is invalid or has expired"',
    );
  });

  it('401 with challenges but no error code when no credentials are sent (RFC 6750 §3.1)', async () => {
    const response = await t.request({ path: clientsPath('acme') });
    expectApiError(response, 401, 'authentication_required');
    // Two challenges in two header fields; Node's client joins them with ", " (RFC 9110 §5.3).
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"',
    );
  });

  it('400 invalid_request for a token in the query string or two Authorization headers', async () => {
    const token = await t.token(acme);
    expectApiError(
      await t.request({ path: `${clientsPath('acme')}?access_token=${token}` }),
      400,
      'invalid_request',
    );
    const twice = await t.request({
      path: clientsPath('acme'),
      headers: { authorization: [`Bearer ${token}`, acme.basic] },
    });
    expectApiError(twice, 400, 'invalid_request');
  });

  it('ends a token when it expires', async () => {
    const brief = await t.createClient('brief', { tokenTtlSeconds: 1 });
    const token = await t.token(brief);
    const before = await t.request({
      path: clientsPath('brief'),
      headers: { authorization: `Bearer ${token}` },
    });
    expect(before.status).toBe(200);
    await t.advanceClock(1100);
    const after = await t.request({
      path: clientsPath('brief'),
      headers: { authorization: `Bearer ${token}` },
    });
    expectApiError(after, 401, 'invalid_token');
  });
});

describe('binding of tokens and keys to their client', () => {
  it("403 on another client's path, revealing nothing of it", async () => {
    const token = await t.token(acme);
    for (const authorization of [acme.basic, `Bearer ${token}`]) {
      const response = await t.request({ path: clientsPath('globex'), headers: { authorization } });
      const body = expectApiError(response, 403, 'forbidden');
      expect(JSON.stringify(body)).not.toContain('globex');
    }
    const unknown = await t.request({ path: clientsPath('nobody'), headers: { authorization: acme.basic } });
    expect(unknown.json().Message).toBe(
      (await t.request({ path: clientsPath('globex'), headers: { authorization: acme.basic } })).json()
        .Message,
    );
  });

  it('revoking a key ends the key and every token it obtained, at once', async () => {
    const client = await t.createClient('revokee');
    const spare = await t.createKey('revokee');
    const token = await t.token(client);
    const spareToken = await t.token(spare);
    await revokeKey(t.server.store, 'revokee', client.keyId);
    const elapsed = await waitUntil(async () => {
      const response = await t.request({
        path: clientsPath('revokee'),
        headers: { authorization: client.basic },
      });
      return response.status === 401;
    }, 1000);
    expect(elapsed).toBeLessThan(1000);
    const withToken = await t.request({
      path: clientsPath('revokee'),
      headers: { authorization: `Bearer ${token}` },
    });
    expectApiError(withToken, 401, 'invalid_token');
    const newToken = await t.request({
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(newToken.status).toBe(401);
    // The client's other key, and its token, go on working.
    const other = await t.request({
      path: clientsPath('revokee'),
      headers: { authorization: `Bearer ${spareToken}` },
    });
    expect(other.status).toBe(200);
  });

  it('disabling a client ends its keys and tokens; enabling it restores them', async () => {
    const client = await t.createClient('pausable');
    const token = await t.token(client);
    await setClientStatus(t.server.store, 'pausable', 'disabled');
    await waitUntil(async () => {
      const response = await t.request({
        path: clientsPath('pausable'),
        headers: { authorization: `Bearer ${token}` },
      });
      return response.status === 401;
    }, 1000);
    const basic = await t.request({
      path: clientsPath('pausable'),
      headers: { authorization: client.basic },
    });
    expectApiError(basic, 401, 'invalid_credentials');
    await setClientStatus(t.server.store, 'pausable', 'active');
    await waitUntil(async () => {
      const response = await t.request({
        path: clientsPath('pausable'),
        headers: { authorization: `Bearer ${token}` },
      });
      return response.status === 200;
    }, 1000);
  });

  it('an expired key is refused', async () => {
    // A key that lives for a second and a half: its expiry passes while the test watches.
    const client = await t.createClient('ephemeral', { expiresInDays: 1.5 / 86_400 });
    const token = await t.token(client);
    await t.advanceClock(1500);
    await waitUntil(async () => {
      const response = await t.request({
        path: clientsPath('ephemeral'),
        headers: { authorization: client.basic },
      });
      return response.status === 401;
    }, 3000);
    const withToken = await t.request({
      path: clientsPath('ephemeral'),
      headers: { authorization: `Bearer ${token}` },
    });
    expect(withToken.status).toBe(401);
  });
});

describe('PUT /v2.01/{ClientId}/clients', () => {
  it('updates the editable fields and ignores read-only ones', async () => {
    const response = await t.request({
      method: 'PUT',
      path: clientsPath('acme'),
      headers: { authorization: acme.basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        ClientId: 'someone-else',
        Name: 'Renamed',
        TechEmails: ['tech@acme.example'],
        PlatformDescription: 'Marketplace',
        PrimaryThemeColour: '#112233',
        HeadquartersAddress: { City: 'Paris', Country: 'FR' },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({
      ClientId: 'acme',
      Name: 'acme',
      TechEmails: ['tech@acme.example'],
      PlatformDescription: 'Marketplace',
      PrimaryThemeColour: '#112233',
      HeadquartersAddress: { City: 'Paris', Country: 'FR' },
    });
    const read = await t.request({ path: clientsPath('acme'), headers: { authorization: acme.basic } });
    expect(read.json().PlatformDescription).toBe('Marketplace');
  });

  it('400 param_error naming each bad field', async () => {
    const response = await t.request({
      method: 'PUT',
      path: clientsPath('acme'),
      headers: { authorization: acme.basic, 'content-type': 'application/json' },
      body: JSON.stringify({
        TechEmails: 'not-a-list',
        PrimaryButtonColour: 'red',
        PlatformURL: 'javascript:x',
      }),
    });
    const body = expectApiError(response, 400, 'param_error');
    expect(Object.keys(body.errors as object).sort()).toEqual([
      'PlatformURL',
      'PrimaryButtonColour',
      'TechEmails',
    ]);
  });

  it('400 for a body that is not JSON, 405 for other methods', async () => {
    const notJson = await t.request({
      method: 'PUT',
      path: clientsPath('acme'),
      headers: { authorization: acme.basic, 'content-type': 'application/json' },
      body: '{',
    });
    expectApiError(notJson, 400, 'invalid_request');
    const deleted = await t.request({
      method: 'DELETE',
      path: clientsPath('acme'),
      headers: { authorization: acme.basic },
    });
    expectApiError(deleted, 405, 'method_not_allowed');
    expect(deleted.headers.allow).toBe('GET, HEAD, PUT');
  });
});

describe('routing', () => {
  it('404 in MANGOPAY shape outside /v2.01/ and when no upstream is configured', async () => {
    expectApiError(await t.request({ path: '/' }), 404, 'not_found');
    const noUpstream = await t.request({ path: '/v2.01/acme/users', headers: { authorization: acme.basic } });
    expectApiError(noUpstream, 404, 'not_found');
  });

  it.each([
    '/v2.01/acme/../globex/clients',
    '/v2.01/acme/%2e%2e/globex/clients',
    '/v2.01/acme/users%2F..%2Fx',
  ])('400 for the ambiguous path %s', async (path) => {
    expectApiError(await t.request({ path, headers: { authorization: acme.basic } }), 400, 'invalid_request');
  });
});
