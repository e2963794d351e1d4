import net from 'node:net';
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
let aliceReader: TestClient;

beforeAll(async () => {
  gateway = await startGateway(['alice']);
  ({ upstream, t } = gateway);
  alice = gateway.clients.alice as TestClient;
  aliceReader = await t.createKey('alice', { scope: 'read' });
});
afterAll(() => gateway.close());

/** Sends `head` (request line and header lines, without the blank line) over TLS; returns the answer. */
function sendRaw(head: readonly string[]) {
  return gateway.exchangeRaw(`${head.join('\r\n')}\r\n\r\n`);
}

describe('headers that upstreams read as identity, address, method or route (issue 10, finding 4)', () => {
  it('the upstream receives exactly the client’s harmless headers, then Portcullis’s own', async () => {
    const before = upstream.received.length;
    const answer = await sendRaw([
      'GET /v2.01/alice/wallets?Page=1 HTTP/1.1',
      'Host: evil.example',
      `Authorization: ${alice.basic}`,
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'Accept: application/json',
      // Identity: every spelling that some framework reads as X-Client-Id and friends.
      'X-Client-Id: bob',
      'X-Client-Id: carol',
      'X_Client_Id: bob',
      'x-client_id: bob',
      'X.Client.Id: bob',
      'X-Api-Key-Id: key_forged',
      'X_Api_Key_Id: key_forged',
      'X-Auth-Method: bearer',
      'X-Auth-Scope: write',
      'X_AUTH_SCOPE: write',
      'X-Request-Id: forged',
      // Route and host rewrites.
      'X-Original-URL: /v2.01/bob/wallets',
      'X-Rewrite-URL: /v2.01/bob/wallets',
      'X_Original_URL: /v2.01/bob/wallets',
      'X-Original-URI: /v2.01/bob/wallets',
      'X-Host: evil.example',
      // The client's address, as it would like it to be read.
      'Forwarded: for=6.6.6.6;host=evil.example;proto=http',
      'X-Real-IP: 6.6.6.6',
      'X_Real_IP: 6.6.6.6',
      'X-Forwarded-For: 6.6.6.6',
      'X-Forwarded-Host: evil.example',
      'X-Forwarded-Proto: http',
      'X-Forwarded-Prefix: /v2.01/bob',
      'X_Forwarded_For: 6.6.6.6',
      'True-Client-IP: 6.6.6.6',
      'CF-Connecting-IP: 6.6.6.6',
      'Client-IP: 6.6.6.6',
      'X-Client-IP: 6.6.6.6',
      'X-Original-Method: DELETE',
      // Hop-by-hop, and a Connection header that tries to strip Portcullis's own headers.
      'Connection: keep-alive, X-Client-Id, X-Forwarded-For, X-Auth-Scope, Forwarded, X-Custom-Hop',
      'X-Custom-Hop: dropped as a connection option',
      'Keep-Alive: timeout=5',
      'TE: trailers',
      'Upgrade: h2c',
      'HTTP2-Settings: AAMAAABkAAQAAP__',
      // Kept: not ours, whatever their spelling.
      'X-Custom: kept',
      'X_Custom_Underscore: kept',
      'User-Agent: recorded-test',
    ]);
    expect(answer.status).toBe(200);
    expect(upstream.received.length).toBe(before + 1);
    const received = upstream.received.at(-1);
    expect(received?.url).toBe('/v2.01/alice/wallets?Page=1');
    expect(received?.rawHeaders).toEqual([
      'Accept',
      'application/json',
      'X-Custom',
      'kept',
      'X_Custom_Underscore',
      'kept',
      'User-Agent',
      'recorded-test',
      'Host',
      upstream.host,
      'Forwarded',
      'for=127.0.0.1;proto=https',
      'X-Forwarded-For',
      '127.0.0.1',
      'X-Forwarded-Proto',
      'https',
      'X-Request-Id',
      answer.headers['x-request-id'],
      'X-Client-Id',
      'alice',
      'X-Api-Key-Id',
      alice.keyId,
      'X-Auth-Method',
      'basic',
      'X-Auth-Scope',
      'read write',
      'Connection',
      'keep-alive',
    ]);
  });

  it('states the scope of a read key and of a Bearer token', async () => {
    const token = await t.token(aliceReader);
    for (const [authorization, method] of [
      [aliceReader.basic, 'basic'],
      [`Bearer ${token}`, 'bearer'],
    ] as const) {
      const response = await t.request({ path: '/v2.01/alice/wallets', headers: { authorization } });
      expect(response.status).toBe(200);
      const headers = Object.fromEntries(upstream.received.at(-1)?.headerPairs ?? []);
      expect(headers).toMatchObject({
        'X-Auth-Scope': 'read',
        'X-Auth-Method': method,
        'X-Client-Id': 'alice',
      });
    }
  });

  it.each([
    ['X-HTTP-Method-Override', 'read'],
    ['X_HTTP_Method_Override', 'read'],
    ['x-http-method', 'read'],
    ['X-Method-Override', 'read'],
    ['X-HTTP-Method-Override', 'write'],
  ])('400 invalid_request for %s: DELETE on a GET with a %s key, never forwarded', async (name, scope) => {
    const key = scope === 'read' ? aliceReader : alice;
    const before = upstream.received.length;
    const response = await t.request({
      path: '/v2.01/alice/wallets/1',
      headers: { authorization: key.basic, [name]: 'DELETE' },
    });
    const body = expectMangopayError(
      { status: response.status, body: response.body },
      400,
      'invalid_request',
    );
    expect(body.Message).toContain('send the method itself');
    expect(upstream.received.length).toBe(before);
  });

  it("states the connection's address, not the caller's X-Forwarded-For chain", async () => {
    const response = await t.request({
      path: '/v2.01/alice/wallets',
      localAddress: '127.0.0.3',
      headers: { authorization: alice.basic, 'x-forwarded-for': '6.6.6.6, 7.7.7.7' },
    });
    expect(response.status).toBe(200);
    const headers = upstream.received.at(-1)?.headerPairs ?? [];
    expect(headers.filter(([name]) => /forwarded/i.test(name))).toEqual([
      ['Forwarded', 'for=127.0.0.3;proto=https'],
      ['X-Forwarded-For', '127.0.0.3'],
      ['X-Forwarded-Proto', 'https'],
    ]);
  });
});

describe('behind a trusted proxy (--trust-proxy)', () => {
  let proxied: GatewayUnderTest;
  let carol: TestClient;

  beforeAll(async () => {
    proxied = await startGateway(['carol'], { trustProxy: ['127.0.0.1'] });
    carol = proxied.clients.carol as TestClient;
  });
  afterAll(() => proxied.close());

  /** A plain-HTTP request as the load balancer at 127.0.0.1 sends it, after its own TLS with the client. */
  function viaProxy(forwardedFor: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: proxied.t.port, host: '127.0.0.1' }, () => {
        socket.write(
          'GET /v2.01/carol/wallets HTTP/1.1\r\nHost: api\r\nConnection: close\r\n' +
            `Authorization: ${carol.basic}\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: ${forwardedFor}\r\n\r\n`,
        );
      });
      let answer = '';
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  it.each([
    ['6.6.6.6, 203.0.113.7', 'for=203.0.113.7;proto=https', '203.0.113.7'],
    // RFC 7239 §6: an IPv6 node is bracketed, and quoted since ':' is not a token character.
    ['2001:db8::7', 'for="[2001:db8::7]";proto=https', '2001:db8::7'],
  ])('X-Forwarded-For: %s from the proxy gives Forwarded: %s', async (chain, forwarded, address) => {
    const answer = await viaProxy(chain);
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    const headers = proxied.upstream.received.at(-1)?.headerPairs ?? [];
    expect(headers.filter(([name]) => /forwarded/i.test(name))).toEqual([
      ['Forwarded', forwarded],
      ['X-Forwarded-For', address],
      ['X-Forwarded-Proto', 'https'],
    ]);
  });
});
