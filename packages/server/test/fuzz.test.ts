import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntrospector } from '../src/keys/management.js';
import { basicHeader, startTestServer, type TestClient, type TestServer } from './helpers/harness.js';

/**
 * Property: whatever a caller sends, the answer is a 2xx or a 4xx in the documented shape, never a 5xx,
 * and the server keeps answering. `npm test` sends 400 such requests; `npm run stress` sends 100 000
 * (PORTCULLIS_FUZZ_RUNS) to one server.
 */
const RUNS = Number(process.env.PORTCULLIS_FUZZ_RUNS ?? 400);
let t: TestServer;
let acme: TestClient;
let introspector: string;
let token: string;

beforeAll(async () => {
  // Limits high enough that the fuzzer meets parsing, not its own rate limits.
  t = await startTestServer({
    rateLimits: 'off',
    tokenLimit: 'off',
    failedAuthLimitPerClient: 'off',
    failedAuthLimitPerAddress: 'off',
  });
  acme = await t.createClient('acme');
  const created = await createIntrospector(t.context, 'fuzz-introspector');
  introspector = basicHeader('fuzz-introspector', created.apiKey);
  token = await t.token(acme);
});
afterAll(() => t.close());

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 120,
});
const base64ish = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:-_.'),
  maxLength: 80,
});

const authorization = fc.oneof(
  fc.constant(undefined),
  printable,
  base64ish.map((b) => `Basic ${b}`),
  base64ish.map((b) => `Bearer ${b}`),
  fc.tuple(printable, printable).map(([id, key]) => basicHeader(id, key)),
  fc.tuple(fc.constant('acme'), printable).map(([id, key]) => basicHeader(id, `pcl_sandbox_${key}`)),
  fc.constantFrom('valid', 'introspector', 'bearer'),
);

const path = fc.oneof(
  fc.constantFrom(
    '/v2.01/oauth/token',
    '/v2.01/oauth/token/',
    '/v2.01/oauth/revoke',
    '/v2.01/oauth/introspect/',
    '/v2.01/acme/clients',
    '/v2.01/acme/users',
    '/',
    '/v2.01/',
  ),
  printable.map((p) => `/v2.01/${encodeURIComponent(p)}`),
  printable.map((p) => `/v2.01/acme/${p.replace(/[\s#?%]/g, '')}`),
  fc
    .tuple(fc.constantFrom('/v2.01/acme/clients', '/v2.01/oauth/token', '/v2.01/oauth/introspect'), printable)
    .map(([p, q]) => `${p}?${encodeURIComponent(q)}=${encodeURIComponent(q)}`),
);

const contentType = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/json',
    'text/plain',
    'multipart/form-data',
    'application/json; charset=utf-8',
  ),
  printable,
);

const body = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'grant_type=client_credentials',
    '{"grant_type":"client_credentials"}',
    'grant_type=client_credentials&grant_type=x',
    'grant_type=client_credentials&scope=read',
    'grant_type=client_credentials&scope=write%20admin',
    'token=TOKEN',
    'token=TOKEN&token=TOKEN',
    'token=TOKEN&token_type_hint=refresh_token',
    '{"token":"TOKEN"}',
    '{',
    '[]',
    'null',
  ),
  printable,
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);

describe('malformed input at every endpoint', () => {
  it(
    'gets a 2xx or a documented 4xx, never a 5xx, and the server stays up',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
          path,
          authorization,
          contentType,
          body,
          fc.boolean(),
          async (method, requestPath, auth, type, requestBody, duplicateAuthorization) => {
            const headers: Record<string, string | string[]> = {};
            const value =
              auth === 'valid'
                ? acme.basic
                : auth === 'introspector'
                  ? introspector
                  : auth === 'bearer'
                    ? `Bearer ${token}`
                    : auth;
            if (value !== undefined) headers.authorization = duplicateAuthorization ? [value, value] : value;
            if (type !== undefined) headers['content-type'] = type;
            const response = await t.request({
              method,
              path: requestPath,
              headers,
              ...(requestBody !== undefined &&
                method !== 'GET' &&
                method !== 'HEAD' && {
                  body:
                    typeof requestBody === 'string' ? requestBody.replaceAll('TOKEN', token) : requestBody,
                }),
            });
            expect(response.status).toBeGreaterThanOrEqual(200);
            expect(response.status).toBeLessThan(500);
            if (response.status >= 400 && method !== 'HEAD') {
              const errorBody = response.json();
              expect(typeof (errorBody.Type ?? errorBody.error)).toBe('string');
            }
          },
        ),
        { numRuns: RUNS },
      );
      expect(
        (await t.request({ path: '/v2.01/acme/clients', headers: { authorization: acme.basic } })).status,
      ).toBe(200);
    },
    30_000 + RUNS * 20,
  );
});
