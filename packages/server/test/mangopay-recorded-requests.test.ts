import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestClient, type TestResponse, type TestServer } from './helpers/harness.js';
import { type RawResponse, RawTlsConnection } from './helpers/raw-tls.js';

/**
 * MANGOPAY's PHP and Java SDKs, whose token requests differ from the plain form: the requests recorded
 * from them are replayed byte for byte over TLS (only the credentials are ours), and the programs that
 * send them (libcurl, the JDK's HttpURLConnection) are run against the server.
 */
const run = promisify(execFile);
const JAVA_TRANSPORT = fileURLToPath(new URL('./fixtures/MangopayJavaTransport.java', import.meta.url));

let t: TestServer;
let acme: TestClient;

beforeAll(async () => {
  // The real clients this file runs; .ci/run installs them from Debian's packages when missing.
  for (const [command, debianPackage] of [
    ['curl', 'curl'],
    ['javac', 'openjdk-17-jdk-headless'],
  ] as const) {
    await run(command, ['--version']).catch(() => {
      throw new Error(`these tests run ${command}: apt-get install ${debianPackage}`);
    });
  }
  t = await startTestServer();
  acme = await t.createClient('acme');
});
afterAll(() => t.close());

const CRLF = '\r\n';
const PHP_BOUNDARY = '------------------------8b2f599b628bb483';
/** What the PHP SDK's libcurl sends as the body: a multipart body under a form label (curl's mime API). */
const PHP_BODY = [
  `--${PHP_BOUNDARY}`,
  'Content-Disposition: attachment; name="grant_type"',
  '',
  'client_credentials',
  `--${PHP_BOUNDARY}--`,
  '',
].join(CRLF);

/** `mangopay/php-sdk-v2` 3.47.0 on PHP 8.2 and libcurl 7.88, headers in the order sent. */
function phpSdkTokenRequest(authorization: string): string {
  return [
    'POST /v2.01/oauth/token/ HTTP/1.1',
    'Host: 127.0.0.1',
    'Accept: */*',
    `Authorization: ${authorization}`,
    'Content-Length: 164',
    `Content-Type: application/x-www-form-urlencoded; boundary=${PHP_BOUNDARY}`,
    '',
    PHP_BODY,
  ].join(CRLF);
}

/**
 * `mangopay2-java-sdk` 2.57.0 on Java 17 (`HttpURLConnection`). The recording as filed lists no Host
 * line; HttpURLConnection always writes one, between Pragma and Accept (seen from Java 17.0.15 on this
 * machine), and RFC 9112 §3.2 has a server refuse an HTTP/1.1 request without it, so it stands here.
 */
function javaSdkTokenRequest(authorization: string, port: number): string {
  return [
    'POST /V2_01/oauth/token HTTP/1.1',
    `Authorization: ${authorization}`,
    'User-Agent: Mangopay-SDK/2.57.0 (Java/17.0.15)',
    'Content-Type: application/x-www-form-urlencoded',
    'Cache-Control: no-cache',
    'Pragma: no-cache',
    `Host: 127.0.0.1:${port}`,
    'Accept: text/html, image/gif, image/jpeg, */*; q=0.2',
    'Connection: keep-alive',
    'Content-Length: 29',
    '',
    'grant_type=client_credentials',
  ].join(CRLF);
}

function apiCall(authorization: string, port: number): string {
  return [
    `GET /v2.01/acme/clients HTTP/1.1`,
    `Authorization: ${authorization}`,
    `Host: 127.0.0.1:${port}`,
    'Connection: keep-alive',
    '',
    '',
  ].join(CRLF);
}

/** RFC 6749 §5.1: exactly the three members MANGOPAY answers with. */
function expectToken(response: RawResponse | TestResponse): string {
  expect(response.status).toBe(200);
  const body = JSON.parse('text' in response ? response.text : response.body);
  expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
  expect(body.token_type).toBe('Bearer');
  expect(body.expires_in).toBe(3600);
  return body.access_token;
}

async function exchangeOnce(request: string): Promise<RawResponse> {
  const connection = await RawTlsConnection.open(t.port, t.server.tls.cert);
  try {
    return await connection.exchange(request);
  } finally {
    connection.close();
  }
}

describe("MANGOPAY's PHP SDK: a multipart body labelled as a form (RFC 7578)", () => {
  it('the recording is whole: its Content-Length is the length of its body', () => {
    expect(Buffer.byteLength(PHP_BODY)).toBe(164);
  });

  it('gets a token for the recorded request, byte for byte, and the token works on the API', async () => {
    const accessToken = expectToken(await exchangeOnce(phpSdkTokenRequest(acme.basic)));
    // The SDK opens a new curl handle, and so a new connection, for its next call.
    const answer = await exchangeOnce(apiCall(`Bearer ${accessToken}`, t.port));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).ClientId).toBe('acme');
  });

  it('gets a token from libcurl itself, which picks a new boundary each time, labelled as the SDK labels it', async () => {
    const { stdout } = await run('curl', [
      ...['-sS', '--cacert', t.server.tls.certPath, '-u', `${acme.clientId}:${acme.apiKey}`],
      ...['-H', 'Content-Type: application/x-www-form-urlencoded', '-F', 'grant_type=client_credentials'],
      `${t.baseUrl}/v2.01/oauth/token/`,
    ]);
    const accessToken = JSON.parse(stdout).access_token;
    const answer = await t.request({
      path: '/v2.01/acme/clients',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(answer.status).toBe(200);
  });

  it('reads every parameter of a real multipart/form-data request: scope=read gives a read-only token', async () => {
    const { stdout } = await run('curl', [
      ...['-sS', '--cacert', t.server.tls.certPath, '-u', `${acme.clientId}:${acme.apiKey}`],
      ...['-F', 'grant_type=client_credentials', '-F', 'scope=read'],
      `${t.baseUrl}/v2.01/oauth/token`,
    ]);
    const authorization = `Bearer ${JSON.parse(stdout).access_token}`;
    expect((await t.request({ path: '/v2.01/acme/clients', headers: { authorization } })).status).toBe(200);
    const write = await t.request({
      method: 'PUT',
      path: '/v2.01/acme/clients',
      headers: { authorization, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(write.status).toBe(403);
  });

  it('revokes a token sent as a multipart body too (RFC 7009 §2.1)', async () => {
    const accessToken = await t.token(acme);
    await run('curl', [
      ...['-sS', '--fail', '--cacert', t.server.tls.certPath, '-u', `${acme.clientId}:${acme.apiKey}`],
      ...['-F', `token=${accessToken}`, `${t.baseUrl}/v2.01/oauth/revoke`],
    ]);
    const answer = await t.request({
      path: '/v2.01/acme/clients',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(answer.status).toBe(401);
  });
});

describe("MANGOPAY's Java SDK: the token endpoint under /V2_01/", () => {
  it('gets a token for the recorded request, byte for byte, and the token works on the same connection', async () => {
    const connection = await RawTlsConnection.open(t.port, t.server.tls.cert);
    try {
      const accessToken = expectToken(await connection.exchange(javaSdkTokenRequest(acme.basic, t.port)));
      const answer = await connection.exchange(apiCall(`Bearer ${accessToken}`, t.port));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).ClientId).toBe('acme');
    } finally {
      connection.close();
    }
  });

  it("works with the JDK's HttpURLConnection, as the SDK sends it", async () => {
    const { stdout } = await run('java', [JAVA_TRANSPORT], {
      env: {
        ...process.env,
        MANGOPAY_BASE_URL: t.baseUrl,
        MANGOPAY_CLIENT_ID: acme.clientId,
        MANGOPAY_API_KEY: acme.apiKey,
        MANGOPAY_CA_FILE: t.server.tls.certPath,
      },
    });
    expect(JSON.parse(stdout)).toEqual({ tokenStatus: 200, apiStatus: 200, clientId: 'acme' });
  }, 60_000);
});

describe('a request without Host', () => {
  it('400 invalid_request in the OAuth shape for the Java recording without its Host line (RFC 9112 §3.2)', async () => {
    const withoutHost = javaSdkTokenRequest(acme.basic, t.port).replace(/Host: [^\r]*\r\n/, '');
    const answer = await exchangeOnce(withoutHost);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({
      error: 'invalid_request',
      error_description: 'An HTTP/1.1 request must carry a Host header.',
    });
  });

  it('HTTP/1.0 needs none', async () => {
    const request = javaSdkTokenRequest(acme.basic, t.port)
      .replace('HTTP/1.1', 'HTTP/1.0')
      .replace(/Host: [^\r]*\r\n/, '');
    expectToken(await exchangeOnce(request));
  });
});

const BOUNDARY = 'Xb0undary';
const FORM = 'application/x-www-form-urlencoded';

/** A multipart body with CRLF line ends: one entry a part, as its header lines and its value. */
function multipart(parts: ReadonlyArray<readonly [headers: string, value: string]>, boundary = BOUNDARY) {
  const encoded = parts.map(
    ([headers, value]) => `--${boundary}${CRLF}${headers}${CRLF}${CRLF}${value}${CRLF}`,
  );
  return `${encoded.join('')}--${boundary}--${CRLF}`;
}

const GRANT_PART = ['Content-Disposition: form-data; name="grant_type"', 'client_credentials'] as const;
/** One grant_type part under the given part headers. */
const grantWith = (headers: string) => multipart([[headers, 'client_credentials']]);

function postToken(contentType: string, body: string | Buffer, path = '/v2.01/oauth/token') {
  return t.request({
    method: 'POST',
    path,
    headers: { authorization: acme.basic, 'content-type': contentType },
    body,
  });
}

function expectInvalidRequest(response: TestResponse, status = 400): void {
  expect(response.status).toBe(status);
  expect(response.headers['cache-control']).toBe('no-store');
  const body = response.json();
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe('invalid_request');
}

describe('multipart token requests: exactly RFC 7578 and RFC 2046 §5.1.1, nothing looser', () => {
  it.each([
    ['multipart/form-data', multipart([GRANT_PART])],
    ['multipart/form-data; boundary="Xb0undary"', multipart([GRANT_PART])],
    ['Multipart/Form-Data; BOUNDARY=Xb0undary', multipart([GRANT_PART])],
    // RFC 2046 allows spaces and some separators inside a boundary, which must then be quoted.
    ['multipart/form-data; boundary="a b:c=d?"', multipart([GRANT_PART], 'a b:c=d?')],
    [`${FORM}; charset=UTF-8`, grantWith('Content-Disposition: attachment; name=grant_type')],
    [
      'multipart/form-data',
      multipart([
        [
          'Content-Disposition: form-data; name="grant_type"\r\nContent-Type: text/plain; charset=UTF-8',
          'client_credentials',
        ],
      ]),
    ],
    ['multipart/form-data', multipart([GRANT_PART, ['Content-Disposition: form-data; name="unknown"', 'x']])],
    ['multipart/form-data', multipart([GRANT_PART]).slice(0, -2)],
  ])('200 for %s with a well-formed body', async (type, body) => {
    const contentType = /boundary=/i.test(type) ? type : `${type}; boundary=${BOUNDARY}`;
    expectToken(await postToken(contentType, body));
  });

  it('the version segment V2_01 is an alias of the token endpoint only, not of revocation or the API', async () => {
    expectToken(await postToken(FORM, 'grant_type=client_credentials', '/V2_01/oauth/token/'));
    for (const path of ['/V2_01/oauth/revoke', '/V2_01/oauth/introspect', '/V2_01/acme/clients']) {
      expect((await t.request({ path, headers: { authorization: acme.basic } })).status).toBe(404);
    }
  });

  it.each([
    '/V2.01/oauth/token',
    '/v2_01/oauth/token',
    '/V2_01/OAuth/token',
    '/%562_01/oauth/token',
    '/V2_1/oauth/token',
    '/v2/oauth/token',
  ])('404 for the version spelling %s, which no official SDK sends', async (path) => {
    expect((await postToken(FORM, 'grant_type=client_credentials', path)).status).toBe(404);
  });

  const withBoundary = `multipart/form-data; boundary=${BOUNDARY}`;
  const mislabelled = `${FORM}; boundary=${BOUNDARY}`;
  const cases: ReadonlyArray<readonly [string, string, string | Buffer]> = [
    ['two grant_type parts (RFC 6749 §3.2)', withBoundary, multipart([GRANT_PART, GRANT_PART])],
    ['a missing closing delimiter', withBoundary, multipart([GRANT_PART]).replace(`--${BOUNDARY}--\r\n`, '')],
    [
      'a body whose boundary is not the announced one',
      `multipart/form-data; boundary=other`,
      multipart([GRANT_PART]),
    ],
    ['multipart/form-data without a boundary', 'multipart/form-data', multipart([GRANT_PART])],
    [
      'a boundary of 71 characters',
      `multipart/form-data; boundary=${'b'.repeat(71)}`,
      multipart([GRANT_PART], 'b'.repeat(71)),
    ],
    ['a boundary announced twice', `${withBoundary}; boundary=${BOUNDARY}`, multipart([GRANT_PART])],
    [
      'an unterminated quote in Content-Type',
      'multipart/form-data; boundary="Xb0undary',
      multipart([GRANT_PART]),
    ],
    ['a form label whose boundary has no multipart body', mislabelled, 'grant_type=client_credentials'],
    ['a preamble', withBoundary, `preamble\r\n${multipart([GRANT_PART])}`],
    ['an epilogue', withBoundary, `${multipart([GRANT_PART])}epilogue`],
    [
      'transport padding after a boundary',
      withBoundary,
      multipart([GRANT_PART]).replace(`--${BOUNDARY}\r\n`, `--${BOUNDARY} \r\n`),
    ],
    ['bare LF line ends', withBoundary, multipart([GRANT_PART]).replaceAll('\r\n', '\n')],
    ['no part at all', withBoundary, `--${BOUNDARY}--\r\n`],
    ['the boundary inside a part', withBoundary, multipart([[GRANT_PART[0], `x\r\n--${BOUNDARY}X`]])],
    ['a part without Content-Disposition', withBoundary, grantWith('Content-Type: text/plain')],
    [
      'an attachment part under multipart/form-data',
      withBoundary,
      grantWith('Content-Disposition: attachment; name="grant_type"'),
    ],
    ['an inline part', mislabelled, grantWith('Content-Disposition: inline; name="grant_type"')],
    [
      'a file',
      withBoundary,
      grantWith('Content-Disposition: form-data; name="grant_type"; filename="a.txt"'),
    ],
    [
      'a name in RFC 5987 form',
      withBoundary,
      grantWith("Content-Disposition: form-data; name*=UTF-8''grant_type"),
    ],
    [
      'a name with a quoted-pair',
      withBoundary,
      grantWith('Content-Disposition: form-data; name="grant\\_type"'),
    ],
    ['an empty name', withBoundary, grantWith('Content-Disposition: form-data; name=""')],
    ['two Content-Disposition headers', withBoundary, grantWith(`${GRANT_PART[0]}\r\n${GRANT_PART[0]}`)],
    [
      'a Content-Transfer-Encoding (RFC 7578 §4.7)',
      withBoundary,
      multipart([[`${GRANT_PART[0]}\r\nContent-Transfer-Encoding: base64`, 'Y2xpZW50X2NyZWRlbnRpYWxz']]),
    ],
    [
      'a part that is not text',
      withBoundary,
      grantWith(`${GRANT_PART[0]}\r\nContent-Type: application/octet-stream`),
    ],
    [
      'a part in another charset',
      withBoundary,
      grantWith(`${GRANT_PART[0]}\r\nContent-Type: text/plain; charset=iso-8859-1`),
    ],
    [
      'a folded part header',
      withBoundary,
      grantWith('Content-Disposition: form-data;\r\n name="grant_type"'),
    ],
    ['a part header without a colon', withBoundary, grantWith(`${GRANT_PART[0]}\r\nX-Pad`)],
    [
      'a value that is not UTF-8',
      withBoundary,
      Buffer.concat([
        Buffer.from(`--${BOUNDARY}\r\n${GRANT_PART[0]}\r\n\r\n`),
        Buffer.from([0xc0, 0xae]),
        Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
      ]),
    ],
  ];
  it.each(cases)('400 invalid_request for %s', async (_name, type, body) => {
    expectInvalidRequest(await postToken(type, body));
  });

  it('413 for part headers over the 4 KiB body limit', async () => {
    const body = grantWith(`${GRANT_PART[0]}\r\nX-Pad: ${'a'.repeat(5000)}`);
    expectInvalidRequest(await postToken(withBoundary, body), 413);
  });

  it('400 for credentials sent both in Basic and as a client_secret part (RFC 6749 §2.3)', async () => {
    const body = multipart([
      GRANT_PART,
      ['Content-Disposition: form-data; name="client_secret"', acme.apiKey],
    ]);
    const response = await postToken(withBoundary, body);
    expectInvalidRequest(response);
    expect(response.text).not.toContain(acme.apiKey);
  });

  it('400 for a multipart request with anything in the query string (RFC 6749 §2.3.1)', async () => {
    expectInvalidRequest(await postToken(withBoundary, multipart([GRANT_PART]), '/v2.01/oauth/token?a=b'));
  });

  it('400 for two Content-Type headers, which readers would resolve differently', async () => {
    const response = await t.request({
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: {
        authorization: acme.basic,
        'content-type': [withBoundary, `multipart/form-data; boundary=other`],
      },
      body: multipart([GRANT_PART]),
    });
    expectInvalidRequest(response);
  });
});
