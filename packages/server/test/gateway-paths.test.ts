import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient, TestServer } from './helpers/harness.js';
import {
  expectMangopayError,
  type GatewayUnderTest,
  type RecordingUpstream,
  startGateway,
} from './helpers/recording-upstream.js';

let gateway: GatewayUnderTest;
let upstream: RecordingUpstream;
let t: TestServer;
let alice: TestClient;

beforeAll(async () => {
  gateway = await startGateway(['alice', 'bob']);
  ({ upstream, t } = gateway);
  alice = gateway.clients.alice as TestClient;
});
afterAll(() => gateway.close());

/** Sends `path` as alice and asserts a 400 in MANGOPAY's shape that the upstream never heard of. */
async function expectRefusedPath(path: string, authorization = alice.basic): Promise<void> {
  const before = upstream.received.length;
  const response = await t.request({ path, headers: { authorization } });
  expectMangopayError({ status: response.status, body: response.body }, 400, 'invalid_request');
  expect(upstream.received.length).toBe(before);
}

describe("paths an upstream would resolve to another client's resources (issue 10, finding 2)", () => {
  it.each([
    // Servlet containers drop `;…` from each segment, then resolve the dot segment: /v2.01/bob/wallets.
    '/v2.01/alice/..;/bob/wallets',
    '/v2.01/alice/%2e%2e;/bob/wallets',
    // Double-encoded, for upstreams that decode twice.
    '/v2.01/alice/%252e%252e/bob/wallets',
    // Overlong UTF-8 for '.', which lax decoders accept.
    '/v2.01/alice/%c0%ae%c0%ae/bob/wallets',
    // Fullwidth full stops, which Unicode normalisation (NFKC) folds into '.'.
    '/v2.01/alice/%EF%BC%8E%EF%BC%8E/bob/wallets',
    // C strings end at NUL, leaving '..'.
    '/v2.01/alice/..%00/bob/wallets',
  ])('400 invalid_request for %s, and the upstream is never reached', async (path) => {
    await expectRefusedPath(path);
  });

  it('the same path without the tricks is forwarded: the refusals come from the path rule alone', async () => {
    const response = await t.request({
      path: '/v2.01/alice/wallets',
      headers: { authorization: alice.basic },
    });
    expect(response.status).toBe(200);
    expect(upstream.received.at(-1)?.url).toBe('/v2.01/alice/wallets');
  });
});

describe('other spellings of dot segments, separators and escapes', () => {
  it.each([
    // Checked and sound before (issue 10): dot segments, encoded dots, slashes and backslashes.
    ['a dot segment', '/v2.01/alice/../bob/wallets'],
    ['a single-dot segment', '/v2.01/alice/./wallets'],
    ['an encoded dot segment', '/v2.01/alice/%2e%2e/bob/wallets'],
    ['a mixed-case, half-encoded dot segment', '/v2.01/alice/%2E./bob/wallets'],
    ['encoded slashes', '/v2.01/alice/x%2f..%2f..%2fbob/wallets'],
    ['an encoded backslash', '/v2.01/alice/x%5c..%5cbob/wallets'],
    ['a backslash', '/v2.01/alice/x\\..\\bob/wallets'],
    // Windows reads '...' and '.. ' as '..'.
    ['three dots', '/v2.01/alice/.../bob/wallets'],
    ['a dot segment with a trailing space', '/v2.01/alice/..%20/bob/wallets'],
    ['a dot-led segment', '/v2.01/alice/.hidden'],
    ['a path parameter', '/v2.01/alice/wallets;jsessionid=0123'],
    ['an encoded semicolon', '/v2.01/alice/wallets%3bx'],
    ['an encoded percent sign', '/v2.01/alice/wallets%25'],
    ['an encoded NUL', '/v2.01/alice/wallets%00'],
    ['an encoded CR LF', '/v2.01/alice/wallets%0d%0aX-Client-Id:%20bob'],
    ['an encoded question mark', '/v2.01/alice/wallets%3f'],
    ['an encoded hash', '/v2.01/alice/wallets%23'],
    ['an encoded letter', '/v2.01/alice/w%61llets'],
    ['an escape of a byte above 0x7F', '/v2.01/alice/caf%C3%A9'],
    ['a bare percent sign', '/v2.01/alice/100%'],
    ['a percent sign without two hex digits', '/v2.01/alice/%zzwallets'],
    ['an empty segment', '/v2.01/alice//bob/wallets'],
    ['an empty ClientId segment', '/v2.01//alice/wallets'],
    ['an escape in the ClientId segment', '/v2.01/%61lice/wallets'],
    ['a hash in the path', '/v2.01/alice/x#/../../bob/wallets'],
    ['a character outside the segment characters', '/v2.01/alice/a"b'],
    ['a hash in the query', '/v2.01/alice/wallets?a=1#frag'],
    ['a bare percent sign in the query', '/v2.01/alice/wallets?q=100%'],
  ])('400 invalid_request for %s (%s), not forwarded', async (_name, path) => {
    await expectRefusedPath(path);
  });

  it('says which rule the path broke', async () => {
    const response = await t.request({
      path: '/v2.01/alice/..;/bob/wallets',
      headers: { authorization: alice.basic },
    });
    expect(response.json().Message).toMatch(/';'|dot/);
  });
});

describe('paths that read the same to every upstream are forwarded byte for byte', () => {
  it.each([
    '/v2.01/alice/users/12345/wallets',
    '/v2.01/alice/users/12345/wallets/',
    '/v2.01/alice/',
    "/v2.01/alice/tags/a-b_c.d~e!$&'()*+,=:@f",
    '/v2.01/alice/search/Ada%20Lovelace%2B%40%3A%2C%3D%21%24%26%27%28%29%2A%7e%7E',
    '/v2.01/alice/users?Page=1&Per_Page=10&Sort=CreationDate:DESC&Status=SUCCEEDED,FAILED',
    // In the query, ';', dots and any escape are data: only paths are resolved (RFC 3986 §5.2.4).
    '/v2.01/alice/users?x=;jsessionid=1&dir=../../bob&name=Andr%C3%A9&v=%00%25',
    '/v2.01/alice/users?filter[Status]=a|b&q={"x":1}',
    '/v2.01/alice/users?',
  ])('%s', async (path) => {
    const response = await t.request({ path, headers: { authorization: alice.basic } });
    expect(response.status).toBe(200);
    const forwarded = upstream.received.at(-1);
    expect(forwarded?.url).toBe(path.endsWith('?') ? path.slice(0, -1) : path);
  });
});

describe('the ClientId in the path is the caller’s', () => {
  it('403 for another ClientId, with Basic and with Bearer, and nothing forwarded', async () => {
    const token = await t.token(alice);
    const before = upstream.received.length;
    for (const authorization of [alice.basic, `Bearer ${token}`]) {
      for (const path of ['/v2.01/bob/wallets', '/v2.01/ALICE/wallets', '/v2.01/alice%40/wallets']) {
        const response = await t.request({ path, headers: { authorization } });
        expectMangopayError({ status: response.status, body: response.body }, 403, 'forbidden');
      }
    }
    expect(upstream.received.length).toBe(before);
  });

  it('refuses the tricks under a Bearer token as under Basic', async () => {
    await expectRefusedPath('/v2.01/alice/..;/bob/wallets', `Bearer ${await t.token(alice)}`);
  });
});

describe('request targets other than a path (RFC 9112 §3.2)', () => {
  it.each([`absolute-form`, 'absolute-form naming another host', 'asterisk-form'])(
    '404 not_found for the %s, never forwarded',
    async (form) => {
      const target =
        form === 'absolute-form'
          ? `https://127.0.0.1:${t.port}/v2.01/alice/wallets`
          : form === 'asterisk-form'
            ? '*'
            : 'http://upstream.internal/v2.01/alice/wallets';
      const before = upstream.received.length;
      const answer = await gateway.exchangeRaw(
        `${form === 'asterisk-form' ? 'OPTIONS' : 'GET'} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Authorization: ${alice.basic}\r\n\r\n`,
      );
      expectMangopayError(answer, 404, 'not_found');
      expect(upstream.received.length).toBe(before);
    },
  );
});
