import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCidr, TrustedProxies } from '../src/http/trusted-proxies.js';
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
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(
        `GET /v2.01/acme/clients HTTP/1.1\r\nHost: api\r\nConnection: close\r\n${lines.join('')}\r\n`,
      );
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
    const answer = await viaProxy(t.port, { authorization: acme.basic, 'x-forwarded-proto': 'https' });
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
});
