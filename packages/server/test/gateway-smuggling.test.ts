import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/harness.js';
import {
  expectMangopayError,
  type GatewayUnderTest,
  type RecordingUpstream,
  startGateway,
} from './helpers/recording-upstream.js';

let gateway: GatewayUnderTest;
let upstream: RecordingUpstream;
let alice: TestClient;

beforeAll(async () => {
  gateway = await startGateway(['alice', 'bob']);
  ({ upstream } = gateway);
  alice = gateway.clients.alice as TestClient;
});
afterAll(() => gateway.close());

/** What a second request hidden in the first one's body would say to the upstream. */
const SMUGGLED = 'GET /v2.01/bob/wallets HTTP/1.1\r\nHost: upstream\r\nX-Client-Id: bob\r\n\r\n';

/** A request to alice's wallets with `framing` (header lines, then the blank line and the body). */
function aliceRequest(method: string, framing: string): string {
  return `${method} /v2.01/alice/wallets HTTP/1.1\r\nHost: api\r\nAuthorization: ${alice.basic}\r\n${framing}`;
}

describe('ambiguous framing is refused before anything is forwarded (RFC 9112 §6.1, §6.3, §7.1)', () => {
  it.each([
    [
      'Content-Length with Transfer-Encoding',
      `Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    [
      'Transfer-Encoding folded over two lines (obs-fold)',
      `Content-Length: 5\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n`,
    ],
    ['Transfer-Encoding: xchunked', `Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding: chunked, identity', `Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
    ['two equal Content-Length headers', `Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}`],
    ['two different Content-Length headers', `Content-Length: 2\r\nContent-Length: 60\r\n\r\n{}${SMUGGLED}`],
    ['chunks ended by bare LF', `Transfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n`],
  ])('400 invalid_request for %s; the upstream never hears of it', async (_name, framing) => {
    const before = upstream.received.length;
    const answer = await gateway.exchangeRaw(aliceRequest('POST', framing));
    expectMangopayError(answer, 400, 'invalid_request');
    expect(upstream.received.length).toBe(before);
  });
});

describe('a chunked body on a method that usually has none', () => {
  it.each(['GET', 'DELETE', 'OPTIONS'])(
    '%s: the upstream reads one request with the body in it, never a second request from the body',
    async (method) => {
      const before = upstream.received.length;
      const body = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
      const answer = await gateway.exchangeRaw(
        aliceRequest(method, `Transfer-Encoding: chunked\r\n\r\n${body}`),
      );
      expect(answer.status).toBe(200);
      // The upstream connection is kept alive: a second request would be parsed at once, but give it time.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(upstream.received.slice(before).map(({ method, url, body }) => ({ method, url, body }))).toEqual(
        [{ method, url: '/v2.01/alice/wallets', body: SMUGGLED }],
      );
    },
  );

  it('a sized body stays sized when the Connection header names Content-Length (RFC 9110 §7.6.1)', async () => {
    const before = upstream.received.length;
    const answer = await gateway.exchangeRaw(
      aliceRequest(
        'DELETE',
        `Connection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      ),
    );
    expect(answer.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream.received.slice(before).map(({ url, body }) => ({ url, body }))).toEqual([
      { url: '/v2.01/alice/wallets', body: SMUGGLED },
    ]);
  });

  it('a sized body keeps its Content-Length', async () => {
    const before = upstream.received.length;
    const answer = await gateway.exchangeRaw(aliceRequest('DELETE', `Content-Length: 2\r\n\r\n{}`));
    expect(answer.status).toBe(200);
    const received = upstream.received.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]?.body).toBe('{}');
    const lengths = (received[0]?.headerPairs ?? []).filter(
      ([name]) => name.toLowerCase() === 'content-length',
    );
    expect(lengths.map(([, value]) => value)).toEqual(['2']);
  });
});
