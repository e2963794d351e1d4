import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/keys/api-key.js';
import {
  basicHeader,
  logLineWith,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
} from './helpers/harness.js';

const FORM = 'application/x-www-form-urlencoded';
const TOKEN_PATH = '/v2.01/oauth/token';

let t: TestServer;
let client: TestClient;

beforeAll(async () => {
  t = await startTestServer();
  client = await t.createClient('acme');
});
afterAll(() => t.close());

function tokenRequest(
  headers: Record<string, string | string[]>,
  body = 'grant_type=client_credentials',
  path = TOKEN_PATH,
) {
  return t.request({ method: 'POST', path, headers, body });
}

function expectOAuthError(
  response: Awaited<ReturnType<TestServer['request']>>,
  status: number,
  error: string,
): Record<string, unknown> {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/json');
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers.pragma).toBe('no-cache');
  const body = response.json();
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
  return body;
}

describe('RFC 6749 §4.4 client credentials grant with client_secret_basic (§2.3.1)', () => {
  it('answers 200 with exactly access_token, token_type Bearer and expires_in 3600 (§5.1)', async () => {
    const response = await tokenRequest({ authorization: client.basic, 'content-type': FORM });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers.pragma).toBe('no-cache');
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    expect(body).not.toHaveProperty('refresh_token');
  });

  it('mints opaque, URL-safe tokens carrying at least 128 random bits, different every time', async () => {
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => t.token(client)));
    expect(new Set(tokens).size).toBe(5);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      const decoded = Buffer.from(token, 'base64url');
      expect(decoded.length).toBeGreaterThanOrEqual(16 + 12 + 16);
      // Sealed: neither the ClientId nor the key id can be read in it.
      for (const text of [client.clientId, client.keyId]) {
        expect(decoded.includes(Buffer.from(text))).toBe(false);
        expect(token).not.toContain(text);
      }
    }
  });

  it('refuses a token altered in any single byte (AES-GCM authentication)', async () => {
    const token = await t.token(client);
    const bytes = Buffer.from(token, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i] = (altered[i] as number) ^ 0x01;
      const response = await t.request({
        path: `/v2.01/${client.clientId}/clients`,
        headers: { authorization: `Bearer ${altered.toString('base64url')}` },
      });
      expect(response.status).toBe(401);
    }
  });

  it('accepts the path with a trailing slash, as one official SDK calls it', async () => {
    const response = await tokenRequest(
      { authorization: client.basic, 'content-type': FORM },
      undefined,
      `${TOKEN_PATH}/`,
    );
    expect(response.status).toBe(200);
  });

  it('accepts a JSON body labelled as a form, as one official SDK sends it, and a real JSON body', async () => {
    const json = JSON.stringify({ grant_type: 'client_credentials' });
    const labelledForm = await tokenRequest({ authorization: client.basic, 'content-type': FORM }, json);
    expect(labelledForm.status).toBe(200);
    const realJson = await tokenRequest(
      { authorization: client.basic, 'content-type': 'application/json' },
      json,
    );
    expect(realJson.status).toBe(200);
  });

  it('accepts a form content type with a charset parameter and a lower-case scheme name (RFC 7235 §2.1)', async () => {
    const response = await tokenRequest({
      authorization: client.basic.replace('Basic', 'basic'),
      'content-type': `${FORM}; charset=UTF-8`,
    });
    expect(response.status).toBe(200);
  });

  it('accepts credentials form-encoded per RFC 6749 Appendix B as well as plain RFC 7617', async () => {
    const encodedKey = client.apiKey.replaceAll('_', '%5F');
    const response = await tokenRequest({
      authorization: basicHeader(client.clientId, encodedKey),
      'content-type': FORM,
    });
    expect(response.status).toBe(200);
  });

  it('uses the lifetime configured for the client', async () => {
    const shortLived = await t.createClient('short-lived', { tokenTtlSeconds: 120 });
    const response = await tokenRequest({ authorization: shortLived.basic, 'content-type': FORM });
    expect(response.json().expires_in).toBe(120);
  });
});

describe('RFC 6749 §5.2 errors of the token endpoint', () => {
  it('401 invalid_client with a Basic challenge when no credentials are sent', async () => {
    const response = await tokenRequest({ 'content-type': FORM });
    expectOAuthError(response, 401, 'invalid_client');
    expect(response.headers['www-authenticate']).toBe('Basic realm="portcullis", charset="UTF-8"');
  });

  it('401 invalid_client, identical for an unknown ClientId and a wrong key: it never tells which was wrong', async () => {
    const wrongKey = await tokenRequest({
      authorization: basicHeader(client.clientId, generateApiKey('sandbox')),
      'content-type': FORM,
    });
    const unknownClient = await tokenRequest({
      authorization: basicHeader('nobody', client.apiKey),
      'content-type': FORM,
    });
    const first = expectOAuthError(wrongKey, 401, 'invalid_client');
    const second = expectOAuthError(unknownClient, 401, 'invalid_client');
    expect(first).toEqual(second);
    expect(wrongKey.headers['www-authenticate']).toBe(unknownClient.headers['www-authenticate']);
  });

  it.each([
    ['broken base64', 'Basic !!!notbase64', 'not Basic credentials in base64'],
    [
      'non-canonical base64',
      `Basic ${Buffer.from('acme:xy').toString('base64').replace(/=+$/, '')}`,
      'non-canonical',
    ],
    ['no colon', `Basic ${Buffer.from('acme').toString('base64')}`, 'no colon'],
    ['empty key', `Basic ${Buffer.from('acme:').toString('base64')}`, 'empty ClientId or key'],
    ['not UTF-8', `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, 'not UTF-8'],
    ['mistyped key (checksum)', 'mistyped', 'malformed_key'],
    ['a Bearer token instead of Basic', 'Bearer abc', 'not Basic'],
  ])('401 invalid_client for %s', async (_name, header, reason) => {
    const authorization =
      header === 'mistyped' ? basicHeader(client.clientId, mistyped(client.apiKey)) : header;
    const response = await tokenRequest({ authorization, 'content-type': FORM });
    expectOAuthError(response, 401, 'invalid_client');
    expect(response.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const requestId = response.headers['x-request-id'] as string;
    expect(await logLineWith(t, requestId)).toContain(reason);
  });

  it('401 invalid_client saying so when the key belongs to the other environment', async () => {
    const response = await tokenRequest({
      authorization: basicHeader(client.clientId, generateApiKey('production')),
      'content-type': FORM,
    });
    const body = expectOAuthError(response, 401, 'invalid_client');
    expect(body.error_description).toMatch(/another environment.*sandbox/);
  });

  it('400 invalid_request when grant_type is missing', async () => {
    expectOAuthError(
      await tokenRequest({ authorization: client.basic, 'content-type': FORM }, ''),
      400,
      'invalid_request',
    );
  });

  it('400 invalid_request when a parameter is repeated (§3.2)', async () => {
    const response = await tokenRequest(
      { authorization: client.basic, 'content-type': FORM },
      'grant_type=client_credentials&grant_type=client_credentials',
    );
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('400 invalid_request when credentials are sent two ways at once (§2.3)', async () => {
    const response = await tokenRequest(
      { authorization: client.basic, 'content-type': FORM },
      `grant_type=client_credentials&client_id=acme&client_secret=${client.apiKey}`,
    );
    const body = expectOAuthError(response, 400, 'invalid_request');
    expect(JSON.stringify(body)).not.toContain(client.apiKey);
  });

  it('400 invalid_request when the Authorization header is sent twice', async () => {
    const response = await tokenRequest({
      authorization: [client.basic, client.basic],
      'content-type': FORM,
    });
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('400 invalid_request when credentials or parameters are in the query string (§2.3.1)', async () => {
    const response = await tokenRequest(
      { 'content-type': FORM },
      '',
      `${TOKEN_PATH}?grant_type=client_credentials&client_id=acme&client_secret=${client.apiKey}`,
    );
    expectOAuthError(response, 400, 'invalid_request');
  });

  it('400 invalid_request for a body that is neither a form nor JSON', async () => {
    const response = await tokenRequest({ authorization: client.basic, 'content-type': 'text/plain' });
    expectOAuthError(response, 400, 'invalid_request');
  });

  it.each(['[]', '{"grant_type": 1}', '{"grant_type":'])(
    '400 invalid_request for the JSON body %s',
    async (body) => {
      const response = await tokenRequest(
        { authorization: client.basic, 'content-type': 'application/json' },
        body,
      );
      expectOAuthError(response, 400, 'invalid_request');
    },
  );

  it.each(['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer'])(
    '400 unsupported_grant_type for grant_type=%s',
    async (grantType) => {
      const response = await tokenRequest(
        { authorization: client.basic, 'content-type': FORM },
        `grant_type=${encodeURIComponent(grantType)}`,
      );
      expectOAuthError(response, 400, 'unsupported_grant_type');
    },
  );

  it.each(['GET', 'PUT', 'DELETE'])('405 with Allow: POST for %s', async (method) => {
    const response = await t.request({ method, path: TOKEN_PATH, headers: { authorization: client.basic } });
    expectOAuthError(response, 405, 'invalid_request');
    expect(response.headers.allow).toBe('POST');
  });

  it('413 for a body over 4 KiB', async () => {
    const response = await tokenRequest(
      { authorization: client.basic, 'content-type': FORM },
      `grant_type=client_credentials&pad=${'x'.repeat(5000)}`,
    );
    expectOAuthError(response, 413, 'invalid_request');
  });
});
