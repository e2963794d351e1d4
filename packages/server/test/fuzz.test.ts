import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntrospector } from '../src/admin/introspectors.js';
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

/** RFC 2046 §5.1.1 bchars, and a few characters that are not. */
const boundaryText = fc.string({ unit: fc.constantFrom(...`abcXYZ019'()+_,-./:=? "\\;`), maxLength: 75 });

interface MultipartRequest {
  label: string;
  announced: string;
  boundary: string;
  parts: string[][];
  lineEnd: string;
  preamble: string;
  closing: string;
}

/** What the PHP SDK's libcurl sends; each fuzzed request is this one with a few of the mutations below. */
const validMultipart = (): MultipartRequest => ({
  label: 'application/x-www-form-urlencoded',
  announced: 'b0undary',
  boundary: 'b0undary',
  parts: [['Content-Disposition: attachment; name="grant_type"', '', 'client_credentials']],
  lineEnd: '\r\n',
  preamble: '',
  closing: '--\r\n',
});

const partHeader = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('form-data', 'attachment', 'inline', 'FORM-DATA', ''),
      fc.constantFrom('grant_type', 'scope', 'client_secret', 'x', ''),
      fc.constantFrom('"', ''),
    )
    .map(([type, name, quote]) => `Content-Disposition: ${type}; name=${quote}${name}${quote}`),
  fc.constantFrom(
    'Content-Type: text/plain; charset=utf-8',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: form-data; name="grant_type"; filename="a"',
    ' folded',
  ),
  fc.nat({ max: 5000 }).map((size) => `X-Pad: ${'a'.repeat(size)}`),
  printable,
);

type Mutation = (request: MultipartRequest) => void;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .constantFrom('multipart/form-data', 'multipart/mixed', 'text/plain')
    .map((label) => (r: MultipartRequest) => {
      r.label = label;
    }),
  boundaryText.map((announced) => (r: MultipartRequest) => {
    r.announced = announced;
  }),
  fc.constant((r: MultipartRequest) => {
    r.announced = `"${r.announced}"`;
  }),
  fc
    .string({ unit: fc.constantFrom('b', '0', '-', ' ', '\r', '\n'), maxLength: 12 })
    .map((boundary) => (r: MultipartRequest) => {
      r.boundary = boundary;
    }),
  fc.constant((r: MultipartRequest) => {
    r.parts.push([...(r.parts[0] ?? [])]);
  }),
  fc.tuple(partHeader, fc.nat()).map(([header, at]) => (r: MultipartRequest) => {
    r.parts[at % Math.max(1, r.parts.length)]?.unshift(header);
  }),
  fc
    .tuple(fc.oneof(fc.constantFrom('read', '', 'client_credentials\r\n'), printable), fc.nat())
    .map(([value, at]) => (r: MultipartRequest) => {
      const part = r.parts[at % Math.max(1, r.parts.length)];
      if (part !== undefined) part[part.length - 1] = value;
    }),
  fc.constant((r: MultipartRequest) => {
    r.parts = [];
  }),
  fc.constantFrom('\n', '\r', '\r\n\r\n').map((lineEnd) => (r: MultipartRequest) => {
    r.lineEnd = lineEnd;
  }),
  fc.constantFrom('x\r\n', '\r\n', ' ').map((preamble) => (r: MultipartRequest) => {
    r.preamble = preamble;
  }),
  fc
    .constantFrom('--', '', '--\r\nepilogue', ' --\r\n', '--\r\n\r\n', '\r\n')
    .map((closing) => (r: MultipartRequest) => {
      r.closing = closing;
    }),
);

function multipartBody(r: MultipartRequest): string {
  const parts = r.parts.map((lines) => `--${r.boundary}${r.lineEnd}${lines.join(r.lineEnd)}${r.lineEnd}`);
  return `${r.preamble}${parts.join('')}--${r.boundary}${r.closing}`;
}

describe('malformed multipart token requests (RFC 7578)', () => {
  it(
    'get a token or a 4xx in the shape of RFC 6749 §5.2, never a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(mutation, { maxLength: 3 }),
          fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.nat(), weight: 1 }),
          async (mutations, cut) => {
            const request = validMultipart();
            for (const mutate of mutations) mutate(request);
            const body = multipartBody(request);
            const response = await t.request({
              method: 'POST',
              path: '/v2.01/oauth/token',
              headers: {
                authorization: acme.basic,
                'content-type': `${request.label}; boundary=${request.announced}`,
              },
              body: cut === null ? body : body.slice(0, cut % (body.length + 1)),
            });
            const answer = response.json();
            if (response.status === 200) {
              expect(typeof answer.access_token).toBe('string');
            } else {
              expect(response.status).toBeGreaterThanOrEqual(400);
              expect(response.status).toBeLessThan(500);
              expect(Object.keys(answer).sort()).toEqual(['error', 'error_description']);
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    30_000 + RUNS * 20,
  );
});
