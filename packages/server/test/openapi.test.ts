import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntrospector } from '../src/admin/introspectors.js';
import { PUBLIC_DOCUMENT_PATH, publicApiDocument } from '../src/openapi/public-api.js';
import {
  basicHeader,
  mistyped,
  startTestServer,
  type TestClient,
  type TestRequest,
  type TestResponse,
  type TestServer,
  tokenRequest,
} from './helpers/harness.js';
import { documented, expectResponseMatches, validateOpenApiDocument } from './helpers/openapi.js';

/**
 * The public listener's OpenAPI document (issue 13 §2): it validates as OpenAPI 3.1, and real answers of
 * every public route match what it declares for their status and media type.
 */
let t: TestServer;
let acme: TestClient;
let reader: TestClient;
/** The served document, as a tool reads it. */
let served: object;

beforeAll(async () => {
  t = await startTestServer();
  acme = await t.createClient('acme');
  await t.createClient('other');
  reader = await t.createKey('acme', { scope: 'read' });
  served = (await t.request({ path: PUBLIC_DOCUMENT_PATH })).json();
});
afterAll(() => t.close());

/** Sends `request` and asserts the answer matches the served document; returns it for more checks. */
async function documentedAnswer(request: TestRequest, server: TestServer = t): Promise<TestResponse> {
  return documented(served, request, await server.request(request));
}

describe(`GET ${PUBLIC_DOCUMENT_PATH}`, () => {
  it('serves a valid OpenAPI 3.1 document, the one in the source, not to be cached blindly', async () => {
    const response = await documentedAnswer({ path: PUBLIC_DOCUMENT_PATH });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.json()).toEqual(JSON.parse(JSON.stringify(publicApiDocument)));
    await validateOpenApiDocument(response.json());
    expect(Object.isFrozen(publicApiDocument.paths)).toBe(true);
  });

  it('answers browsers too (public information), and HEAD without the body', async () => {
    const fromBrowser = await documentedAnswer({
      path: PUBLIC_DOCUMENT_PATH,
      headers: { origin: 'https://docs.example', 'sec-fetch-mode': 'navigate' },
    });
    expect(fromBrowser.status).toBe(200);
    const head = await documentedAnswer({ method: 'HEAD', path: PUBLIC_DOCUMENT_PATH });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('refuses other methods with 405 and Allow, and a query string with 400', async () => {
    const post = await t.request({ method: 'POST', path: PUBLIC_DOCUMENT_PATH });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const query = await documentedAnswer({ path: `${PUBLIC_DOCUMENT_PATH}?v=1` });
    expect(query.status).toBe(400);
  });
});

describe('the token endpoint matches the document', () => {
  it('issues a token (RFC 6749 §5.1)', async () => {
    expect((await documentedAnswer(tokenRequest(acme.basic))).status).toBe(200);
  });

  it.each([
    ['no grant_type', 400, 'invalid_request', ''],
    ['another grant type', 400, 'unsupported_grant_type', 'grant_type=password'],
    ['an unknown scope', 400, 'invalid_scope', 'grant_type=client_credentials&scope=admin'],
    ['a body over 4 KiB', 413, 'invalid_request', `grant_type=client_credentials&x=${'a'.repeat(5000)}`],
  ])('answers %s with %i %s (RFC 6749 §5.2)', async (_case, status, error, body) => {
    const response = await documentedAnswer(tokenRequest(acme.basic, body));
    expect(response.status).toBe(status);
    expect(response.json()).toMatchObject({ error });
  });

  it('answers wrong credentials with 401 invalid_client and the Basic challenge', async () => {
    const response = await documentedAnswer(tokenRequest(basicHeader('acme', mistyped(acme.apiKey))));
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('answers a browser with 403', async () => {
    const request = tokenRequest(acme.basic);
    const response = await documentedAnswer({
      ...request,
      headers: { ...request.headers, origin: 'https://x.example' },
    });
    expect(response.status).toBe(403);
  });
});

describe('revocation and introspection match the document', () => {
  it('revokes with 200 and no body, and refuses a request without a token with 400', async () => {
    const token = await t.token(acme);
    const revoked = await documentedAnswer({
      ...tokenRequest(acme.basic, `token=${token}`),
      path: '/v2.01/oauth/revoke',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.text).toBe('');
    const missing = await documentedAnswer({ ...tokenRequest(acme.basic, ''), path: '/v2.01/oauth/revoke' });
    expect(missing.status).toBe(400);
  });

  it('introspects an active and an inactive token, and refuses a client with 401', async () => {
    const introspector = await createIntrospector(t.context, 'resource-server');
    const authorization = basicHeader('resource-server', introspector.apiKey);
    const token = await t.token(acme);
    const introspect = (auth: string, body: string) =>
      documentedAnswer({ ...tokenRequest(auth, body), path: '/v2.01/oauth/introspect' });
    expect((await introspect(authorization, `token=${token}`)).json()).toMatchObject({ active: true });
    expect((await introspect(authorization, 'token=forged')).json()).toEqual({ active: false });
    expect((await introspect(acme.basic, `token=${token}`)).status).toBe(401);
  });
});

describe('the clients resource matches the document', () => {
  const path = '/v2.01/acme/clients';

  it('reads with Basic, Bearer and HEAD, and updates with PUT', async () => {
    expect((await documentedAnswer({ path, headers: { authorization: acme.basic } })).status).toBe(200);
    const bearer = `Bearer ${await t.token(acme)}`;
    expect((await documentedAnswer({ path, headers: { authorization: bearer } })).status).toBe(200);
    expect(
      (await documentedAnswer({ method: 'HEAD', path, headers: { authorization: acme.basic } })).status,
    ).toBe(200);
    const updated = await documentedAnswer({
      method: 'PUT',
      path,
      headers: { authorization: acme.basic, 'content-type': 'application/json' },
      body: JSON.stringify({ TechEmails: ['ops@acme.example'], PlatformURL: 'https://acme.example' }),
    });
    expect(updated.status).toBe(200);
    expect(updated.json()).toMatchObject({ TechEmails: ['ops@acme.example'] });
  });

  const json = (authorization: () => string, body: string) => (): TestRequest => ({
    method: 'PUT',
    path,
    headers: { authorization: authorization(), 'content-type': 'application/json' },
    body,
  });
  it.each<[string, number, string, () => TestRequest]>([
    ['no credentials', 401, 'authentication_required', () => ({ path })],
    ['a forged token', 401, 'invalid_token', () => ({ path, headers: { authorization: 'Bearer forged' } })],
    [
      'another client’s path',
      403,
      'forbidden',
      () => ({ path: '/v2.01/other/clients', headers: { authorization: acme.basic } }),
    ],
    [
      'a field that fails its check',
      400,
      'param_error',
      json(() => acme.basic, '{"PrimaryThemeColour":"red"}'),
    ],
    ['a write with a read key', 403, 'insufficient_scope', json(() => reader.basic, '{}')],
    [
      'a token in the URL',
      400,
      'invalid_request',
      () => ({ path: `${path}?access_token=x`, headers: { authorization: acme.basic } }),
    ],
  ])('answers %s with %i %s in MANGOPAY’s shape', async (_case, status, type, request) => {
    const response = await documentedAnswer(request());
    expect(response.status).toBe(status);
    expect(response.json()).toMatchObject({ Type: type });
  });

  it('answers a gateway path without an upstream with 404, as its `default` allows', async () => {
    const response = await documentedAnswer({
      path: '/v2.01/acme/users',
      headers: { authorization: acme.basic },
    });
    expect(response.status).toBe(404);
  });
});

describe('forward-auth matches the document', () => {
  const ask = (uri: string, headers: Record<string, string> = {}): TestRequest => ({
    path: '/forward-auth',
    headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri, ...headers },
  });

  it('allows with 200, no body and the identity headers', async () => {
    const response = await documentedAnswer(ask('/v2.01/acme/users', { authorization: acme.basic }));
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
  });

  it('refuses with 401 (no credentials) and 403 (another client, a path that is not an API call)', async () => {
    expect((await documentedAnswer(ask('/v2.01/acme/users'))).status).toBe(401);
    expect((await documentedAnswer(ask('/v2.01/other/users', { authorization: acme.basic }))).status).toBe(
      403,
    );
    expect((await documentedAnswer(ask('/admin', { authorization: acme.basic }))).status).toBe(403);
  });
});

describe('health checks match the document', () => {
  it.each(['/healthz', '/readyz'])(
    '%s answers 200 by GET and HEAD, 400 with a query string',
    async (path) => {
      expect((await documentedAnswer({ path })).status).toBe(200);
      expect((await documentedAnswer({ method: 'HEAD', path })).status).toBe(200);
      expect((await documentedAnswer({ path: `${path}?x=1` })).status).toBe(400);
    },
  );
});

describe('limits match the document', () => {
  let limited: TestServer;
  let client: TestClient;

  beforeAll(async () => {
    limited = await startTestServer({ rateLimits: '1/1h', tokenLimit: '1/10m' });
    client = await limited.createClient('acme');
  });
  afterAll(() => limited.close());

  it('answers 429 with Retry-After at the token endpoint, on the clients resource and at forward-auth', async () => {
    expect((await documentedAnswer(tokenRequest(client.basic), limited)).status).toBe(200);
    expect((await documentedAnswer(tokenRequest(client.basic), limited)).status).toBe(429);
    const clients: TestRequest = { path: '/v2.01/acme/clients', headers: { authorization: client.basic } };
    expect((await documentedAnswer(clients, limited)).status).toBe(200);
    expect((await documentedAnswer(clients, limited)).status).toBe(429);
    const forwardAuth: TestRequest = {
      path: '/forward-auth',
      headers: {
        authorization: client.basic,
        'x-forwarded-method': 'GET',
        'x-forwarded-uri': '/v2.01/acme/users',
      },
    };
    expect((await documentedAnswer(forwardAuth, limited)).status).toBe(429);
  });
});

/** The check must be able to fail: each of these breaks the document in one way. */
describe('expectResponseMatches', () => {
  const tokenAnswer = {
    method: 'POST',
    path: '/v2.01/oauth/token',
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' },
  };
  const good = { access_token: 'abc', token_type: 'Bearer', expires_in: 3600 };

  it('passes a body that matches', () => {
    expectResponseMatches(publicApiDocument, { ...tokenAnswer, body: JSON.stringify(good) });
  });

  it.each<[string, unknown]>([
    ['a member of the wrong type', { ...good, expires_in: '3600' }],
    ['a missing member', { access_token: 'abc', token_type: 'Bearer' }],
    ['a member the schema does not allow', { ...good, refresh_token: 'r' }],
  ])('throws on %s, naming the method, path and status', (_case, body) => {
    expect(() =>
      expectResponseMatches(publicApiDocument, { ...tokenAnswer, body: JSON.stringify(body) }),
    ).toThrow(/POST \/v2\.01\/oauth\/token → 200: the body does not match/);
  });

  it('throws on a body that breaks a referenced schema (MANGOPAY’s error shape)', () => {
    const error = { Message: 'm', Type: 'no_such_code', Id: crypto.randomUUID(), Date: 1, errors: null };
    expect(() =>
      expectResponseMatches(publicApiDocument, {
        method: 'GET',
        path: '/v2.01/acme/clients',
        status: 401,
        headers: {
          'content-type': 'application/json',
          'www-authenticate': 'Basic',
          'x-request-id': 'r',
          'cache-control': 'no-store',
        },
        body: JSON.stringify(error),
      }),
    ).toThrow(/does not match/);
  });

  it('throws on an undocumented status, path, method or media type', () => {
    const body = JSON.stringify(good);
    expect(() => expectResponseMatches(publicApiDocument, { ...tokenAnswer, status: 418, body })).toThrow(
      /no response for status 418/,
    );
    expect(() =>
      expectResponseMatches(publicApiDocument, { ...tokenAnswer, path: '/v2.02/oauth/token', body }),
    ).toThrow(/no path of the document matches/);
    expect(() => expectResponseMatches(publicApiDocument, { ...tokenAnswer, method: 'GET', body })).toThrow(
      /no GET operation/,
    );
    expect(() =>
      expectResponseMatches(publicApiDocument, {
        ...tokenAnswer,
        headers: { ...tokenAnswer.headers, 'content-type': 'text/plain' },
        body,
      }),
    ).toThrow(/media type text\/plain is not among/);
  });

  it('throws on a missing required header, and on a body where none is documented', () => {
    const { pragma: _pragma, ...withoutPragma } = tokenAnswer.headers;
    expect(() =>
      expectResponseMatches(publicApiDocument, {
        ...tokenAnswer,
        headers: withoutPragma,
        body: JSON.stringify(good),
      }),
    ).toThrow(/required response header Pragma/);
    expect(() =>
      expectResponseMatches(publicApiDocument, {
        ...tokenAnswer,
        path: '/v2.01/oauth/revoke',
        body: '{}',
      }),
    ).toThrow(/declares no body/);
  });

  it('throws when a document is not valid OpenAPI', async () => {
    await validateOpenApiDocument(publicApiDocument);
    await expect(
      validateOpenApiDocument({ ...publicApiDocument, info: { title: 'no version' } }),
    ).rejects.toThrow(/not valid/);
  });
});

describe('expectResponseMatches on any OpenAPI 3.1 document', () => {
  // A small document of the admin API's kind: templated paths, problem details, a referenced response.
  const document = {
    openapi: '3.1.0',
    info: { title: 'test', version: '1' },
    paths: {
      '/admin/v1/clients/{clientId}/keys/{keyId}': {
        delete: {
          responses: {
            '204': { description: 'Deleted.' },
            '4XX': { $ref: '#/components/responses/Problem' },
          },
        },
      },
    },
    components: {
      responses: {
        Problem: {
          description: 'RFC 9457.',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' } },
        },
      },
    },
  };
  const answer = {
    method: 'DELETE',
    path: '/admin/v1/clients/acme/keys/k1',
    status: 404,
    headers: { 'content-type': 'application/problem+json' },
  };

  it('validates it, matches templated paths, status ranges and problem+json bodies through references', async () => {
    await validateOpenApiDocument(document);
    expectResponseMatches(document, { ...answer, body: '{"type":"urn:x","title":"Not found","status":404}' });
    expectResponseMatches(document, { ...answer, status: 204, headers: {} });
  });

  it('throws when the problem body breaks the referenced schema', () => {
    expect(() =>
      expectResponseMatches(document, { ...answer, body: '{"type":"urn:x","status":"404"}' }),
    ).toThrow(/DELETE \/admin\/v1\/clients\/acme\/keys\/k1 → 404: the body does not match/);
    expect(() => expectResponseMatches(document, { ...answer, status: 500, body: '{}' })).toThrow(
      /no response for status 500/,
    );
  });
});
