import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressKey, parseForwardedHop } from '../src/net/client-address.js';
import { isCidr, TrustedProxies } from '../src/net/trusted-proxies.js';
import {
  basicHeader,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
} from './helpers/harness.js';

/** A plain-HTTP request as a TLS-terminating load balancer sends it, from `localAddress`. */
function viaProxy(
  port: number,
  headers: Record<string, string>,
  localAddress = '127.0.0.1',
  request = 'GET /v2.01/acme/clients',
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`${request} HTTP/1.1\r\nHost: api\r\nConnection: close\r\n${lines.join('')}\r\n${body}`);
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.on('close', () =>
      resolve({ status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4) }),
    );
    socket.on('error', reject);
  });
}

describe('--trust-proxy: plain HTTP from a TLS-terminating load balancer', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    t = await startTestServer({ trustProxy: ['127.0.0.1/32'], failedAuthLimitPerClient: '2/15m' });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('serves a trusted proxy that says the client used HTTPS', async () => {
    const answer = await viaProxy(t.port, {
      authorization: acme.basic,
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '192.0.2.10',
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ ClientId: 'acme' });
  });

  it('answers "HTTPS required" without X-Forwarded-Proto: https, or from an address not trusted', async () => {
    for (const [headers, from] of [
      [{ authorization: acme.basic }, '127.0.0.1'],
      [{ authorization: acme.basic, 'x-forwarded-proto': 'http' }, '127.0.0.1'],
      [{ authorization: acme.basic, 'x-forwarded-proto': 'https' }, '127.0.0.2'],
    ] as const) {
      const answer = await viaProxy(t.port, headers, from);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toMatchObject({ Type: 'https_required' });
    }
  });

  it('counts failed authentications against the forwarded client address, not the proxy', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    const from = (client: string, authorization: string) =>
      viaProxy(t.port, { authorization, 'x-forwarded-proto': 'https', 'x-forwarded-for': client });
    for (let i = 0; i < 2; i++) expect((await from('203.0.113.9', wrong)).status).toBe(401);
    expect((await from('203.0.113.9', acme.basic)).status).toBe(429);
    // Another client behind the same proxy is unaffected.
    expect((await from('198.51.100.7', acme.basic)).status).toBe(200);
  });
});

/** A Basic request through the trusted proxy, as `client` in X-Forwarded-For. */
function throughProxy(port: number, client: string, authorization: string) {
  return viaProxy(port, { authorization, 'x-forwarded-proto': 'https', 'x-forwarded-for': client });
}

describe('--trust-proxy: X-Forwarded-For hops as load balancers write them', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    // Only the per-address limit (100 failures in 15 minutes, the default) is in play.
    t = await startTestServer({ trustProxy: ['127.0.0.1/32'], failedAuthLimitPerClient: 'off' });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('counts an "IP:port" hop (Azure Application Gateway) as its IP: 101 tries from 6.6.6.6:1111 leave 7.7.7.7:2222 served', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (let i = 0; i < 100; i++) {
      expect((await throughProxy(t.port, '6.6.6.6:1111', wrong)).status).toBe(401);
    }
    expect((await throughProxy(t.port, '6.6.6.6:1111', wrong)).status).toBe(429);
    expect((await throughProxy(t.port, '6.6.6.6:1111', acme.basic)).status).toBe(429);
    expect((await throughProxy(t.port, '6.6.6.6:3333', acme.basic)).status).toBe(429);
    expect((await throughProxy(t.port, '7.7.7.7:2222', acme.basic)).status).toBe(200);
  });

  it('counts a "[IPv6]:port" hop as its IPv6 network', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (let i = 0; i < 100; i++) {
      expect((await throughProxy(t.port, '[2001:db8:6::6]:1111', wrong)).status).toBe(401);
    }
    expect((await throughProxy(t.port, '[2001:db8:6::6]:1111', acme.basic)).status).toBe(429);
    expect((await throughProxy(t.port, '[2001:db8:7::7]:2222', acme.basic)).status).toBe(200);
    expect((await throughProxy(t.port, '198.51.100.7', acme.basic)).status).toBe(200);
  });

  it.each([
    ['no X-Forwarded-For', undefined],
    ['an empty one', ''],
    ['"unknown"', 'unknown'],
    ['a name', 'client.example'],
    ['a port out of range', '6.6.6.6:70000'],
    ['an IPv6 address with a port but no brackets', '2001:db8::1:443x'],
    ['a zone index', 'fe80::1%eth0'],
  ])('refuses a request whose trusted proxy sends %s (400, never counted as the proxy)', async (_, hop) => {
    const headers: Record<string, string> = { authorization: acme.basic, 'x-forwarded-proto': 'https' };
    if (hop !== undefined) headers['x-forwarded-for'] = hop;
    const api = await viaProxy(t.port, headers);
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body)).toMatchObject({ Type: 'invalid_request', errors: null });
    expect(JSON.parse(api.body).Message).toMatch(/X-Forwarded-For/);
    const token = await viaProxy(
      t.port,
      { ...headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '29' },
      '127.0.0.1',
      'POST /v2.01/oauth/token',
      'grant_type=client_credentials',
    );
    expect(token.status).toBe(400);
    expect(JSON.parse(token.body)).toMatchObject({ error: 'invalid_request' });
  });

  it('takes the last hop that is not a trusted proxy, past trusted ones', async () => {
    const answer = await throughProxy(t.port, '6.6.6.6, 198.51.100.8:4711, 127.0.0.1', acme.basic);
    expect(answer.status).toBe(200);
  });
});

describe('IPv6 clients are counted per /64 (--ipv6-prefix)', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    t = await startTestServer({
      trustProxy: ['127.0.0.1/32'],
      failedAuthLimitPerClient: 'off',
      failedAuthLimitPerAddress: '4/15m',
    });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('two addresses of one /64 share one budget; another /64 has its own', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (const address of ['2001:db8:a:b::1', '2001:db8:a:b::1', '2001:db8:a:b:ffff::2', '2001:db8:a:b::3']) {
      expect((await throughProxy(t.port, address, wrong)).status).toBe(401);
    }
    expect((await throughProxy(t.port, '2001:db8:a:b:1234::9', acme.basic)).status).toBe(429);
    expect((await throughProxy(t.port, '2001:db8:a:c::1', acme.basic)).status).toBe(200);
  });

  it('an IPv4-mapped IPv6 address is counted as the IPv4 address', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (const address of ['::ffff:192.0.2.44', '192.0.2.44', '::ffff:192.0.2.44', '192.0.2.44']) {
      expect((await throughProxy(t.port, address, wrong)).status).toBe(401);
    }
    expect((await throughProxy(t.port, '192.0.2.44', acme.basic)).status).toBe(429);
    expect((await throughProxy(t.port, '192.0.2.45', acme.basic)).status).toBe(200);
  });
});

describe('without --trust-proxy, X-Forwarded-For is ignored', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    t = await startTestServer({ failedAuthLimitPerClient: 'off', failedAuthLimitPerAddress: '3/15m' });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('counts failures against the TCP peer whatever X-Forwarded-For says', async () => {
    const call = (authorization: string, forwardedFor: string, localAddress: string) =>
      t.request({
        path: '/v2.01/acme/clients',
        headers: { authorization, 'x-forwarded-for': forwardedFor },
        localAddress,
      });
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (const spoofed of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
      expect((await call(wrong, spoofed, '127.0.0.21')).status).toBe(401);
    }
    expect((await call(acme.basic, '203.0.113.4', '127.0.0.21')).status).toBe(429);
    expect((await call(acme.basic, '203.0.113.1', '127.0.0.22')).status).toBe(200);
  });

  it('answers plain HTTP "HTTPS required" even with X-Forwarded-Proto: https', async () => {
    const answer = await viaProxy(t.port, {
      authorization: acme.basic,
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.9',
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ Type: 'https_required' });
  });
});

describe('trusted proxy addresses', () => {
  it('accepts addresses and CIDR ranges, IPv4 and IPv6, and nothing else', () => {
    for (const valid of ['10.0.0.0/8', '192.168.1.5', 'fd00::/8', '::1']) expect(isCidr(valid)).toBe(true);
    for (const invalid of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '', '1.2.3.4/x']) {
      expect(isCidr(invalid)).toBe(false);
    }
    const proxies = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);
    expect(proxies.has('10.1.2.3')).toBe(true);
    expect(proxies.has('::ffff:10.1.2.3')).toBe(true);
    expect(proxies.has('fd00::1')).toBe(true);
    expect(proxies.has('11.0.0.1')).toBe(false);
  });

  it('reads X-Forwarded-For hops written as IP, IP:port and [IPv6]:port, and nothing else', () => {
    expect(parseForwardedHop('192.0.2.1')).toBe('192.0.2.1');
    expect(parseForwardedHop('192.0.2.1:4711')).toBe('192.0.2.1');
    expect(parseForwardedHop('2001:db8::1')).toBe('2001:db8::1');
    expect(parseForwardedHop('[2001:db8::1]:4711')).toBe('2001:db8::1');
    expect(parseForwardedHop('[2001:db8::1]')).toBe('2001:db8::1');
    for (const bad of [
      '',
      'unknown',
      '_hidden',
      '192.0.2.1:',
      '192.0.2.1:65536',
      '[192.0.2.1]:1',
      '[::1]x',
    ]) {
      expect(parseForwardedHop(bad)).toBeUndefined();
    }
  });

  it('keys IPv6 addresses by network prefix and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('203.0.113.5', 64)).toBe('203.0.113.5');
    expect(addressKey('::ffff:203.0.113.5', 64)).toBe('203.0.113.5');
    expect(addressKey('0:0:0:0:0:ffff:cb00:7105', 64)).toBe('203.0.113.5');
    expect(addressKey('2001:db8:a:b:c:d:e:f', 64)).toBe('2001:db8:a:b:0:0:0:0/64');
    expect(addressKey('2001:db8:a:b::1', 64)).toBe(addressKey('2001:db8:a:b:ffff::2', 64));
    expect(addressKey('2001:db8:a:b::1', 48)).toBe('2001:db8:a:0:0:0:0:0/48');
    expect(addressKey('2001:db8:a:b::1', 56)).toBe('2001:db8:a:0:0:0:0:0/56');
    expect(addressKey('2001:db8:a:1ff::1', 56)).toBe('2001:db8:a:100:0:0:0:0/56');
    expect(addressKey('2001:db8::1', 128)).toBe('2001:db8::1');
    expect(addressKey('64:ff9b::192.0.2.1', 96)).toBe('64:ff9b:0:0:0:0:0:0/96');
  });
});
