import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from './helpers/cli.js';
import {
  basicHeader,
  mistyped,
  startTestServer,
  type TestClient,
  type TestServer,
  tempDataDir,
} from './helpers/harness.js';

/** HAProxy's proxy-protocol.txt, §2.2: the v2 signature. */
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const V2_LOCAL = 0x20;
const V2_PROXY = 0x21;
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;

function v1(source: string, protocol = source.includes(':') ? 'TCP6' : 'TCP4'): Buffer {
  const destination = protocol === 'TCP6' ? '2001:db8::443' : '10.0.0.1';
  return Buffer.from(`PROXY ${protocol} ${source} ${destination} 1111 443\r\n`);
}

function v2(command: number, family: number, payload: Buffer): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = command;
  fixed[1] = family;
  fixed.writeUInt16BE(payload.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, payload]);
}

/** v2 TCP over IPv4: source, destination, source port, destination port, then optional TLVs. */
function v2Tcp4(source: string, tlvs = Buffer.alloc(0)): Buffer {
  const addresses = Buffer.from([...source.split('.'), 10, 0, 0, 1].map(Number));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(1111, 0);
  ports.writeUInt16BE(443, 2);
  return v2(V2_PROXY, V2_TCP4, Buffer.concat([addresses, ports, tlvs]));
}

/** v2 TCP over IPv6, the source given as its eight groups. */
function v2Tcp6(groups: readonly number[]): Buffer {
  const payload = Buffer.alloc(36);
  for (const [i, group] of groups.entries()) payload.writeUInt16BE(group, i * 2);
  payload.writeUInt16BE(0x2001, 16);
  payload.writeUInt16BE(1111, 32);
  payload.writeUInt16BE(443, 34);
  return v2(V2_PROXY, V2_TCP6, payload);
}

/** The server's port and the certificate to trust. */
interface Target {
  readonly port: number;
  readonly ca: string;
}

const targetOf = (t: TestServer): Target => ({ port: t.port, ca: t.server.tls.cert });

type Outcome = { kind: 'answered'; status: number } | { kind: 'closed'; data: string };

/**
 * What a TCP load balancer does: connects from `from`, sends `header`, then relays the client's TLS
 * handshake and one HTTPS request. With `coalesce`, the header and the ClientHello leave in one segment;
 * with `gapMs`, the ClientHello follows the header that much later.
 */
function throughBalancer(
  target: Target,
  header: Buffer | undefined,
  authorization: string,
  { from = '127.0.0.1', coalesce = false, gapMs = 0 } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: target.port, localAddress: from }, () => {
      if (coalesce) socket.cork();
      if (header !== undefined) socket.write(header);
      if (gapMs > 0) setTimeout(handshake, gapMs);
      else handshake();
      if (coalesce) setTimeout(() => socket.uncork(), 50);
    });
    socket.on('error', () => undefined);
    const handshake = () => {
      let text = '';
      const secure = tlsConnect({ socket, ca: target.ca, host: 'localhost' }, () => {
        secure.write(
          `GET /v2.01/acme/clients HTTP/1.1\r\nHost: api\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`,
        );
      });
      secure.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      secure.on('error', () => undefined);
      secure.once('close', () =>
        resolve(
          text.startsWith('HTTP/1.1 ')
            ? { kind: 'answered', status: Number(text.slice(9, 12)) }
            : { kind: 'closed', data: text },
        ),
      );
    };
  });
}

/** Sends `bytes` from `from` and reports whether the server closed the connection, and what it sent. */
function rawExchange(
  target: Target,
  bytes: Buffer,
  from = '127.0.0.1',
): Promise<{ data: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let data = '';
    const socket = net.connect({ host: '127.0.0.1', port: target.port, localAddress: from }, () =>
      socket.write(bytes),
    );
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve({ data, ms: Date.now() - started }));
  });
}

const answered = (status: number): Outcome => ({ kind: 'answered', status });

describe('--proxy-protocol: a TCP load balancer names each client (HAProxy PROXY protocol v1 and v2)', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    // Only the per-address limit (100 failures in 15 minutes, the default) is in play.
    t = await startTestServer({
      trustProxy: ['127.0.0.1/32'],
      proxyProtocol: true,
      failedAuthLimitPerClient: 'off',
    });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('v1: 101 tries from PROXY source 6.6.6.6 block 6.6.6.6 only, not 7.7.7.7 behind the same balancer', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (let i = 0; i < 100; i++) {
      expect(await throughBalancer(targetOf(t), v1('6.6.6.6'), wrong, { coalesce: i % 2 === 0 })).toEqual(
        answered(401),
      );
    }
    expect(await throughBalancer(targetOf(t), v1('6.6.6.6'), wrong)).toEqual(answered(429));
    expect(await throughBalancer(targetOf(t), v1('6.6.6.6'), acme.basic)).toEqual(answered(429));
    expect(await throughBalancer(targetOf(t), v1('7.7.7.7'), acme.basic)).toEqual(answered(200));
  });

  it('v1 TCP6 and v2 over IPv4 (with TLVs) and IPv6, each followed by a TLS handshake and a request', async () => {
    const awsStyleTlv = Buffer.from([0xea, 0x00, 0x05, 0x01, 0x76, 0x70, 0x63, 0x65]);
    for (const header of [
      v1('2001:db8:77::1'),
      v2Tcp4('198.51.100.20'),
      v2Tcp4('198.51.100.21', awsStyleTlv),
      v2Tcp6([0x2001, 0xdb8, 0x77, 0, 0, 0, 0, 2]),
    ]) {
      expect(await throughBalancer(targetOf(t), header, acme.basic)).toEqual(answered(200));
      expect(await throughBalancer(targetOf(t), header, acme.basic, { coalesce: true })).toEqual(
        answered(200),
      );
      // The ClientHello in a later segment than the header, as a balancer relaying the client's bytes sends it.
      expect(await throughBalancer(targetOf(t), header, acme.basic, { gapMs: 30 })).toEqual(answered(200));
    }
  });

  it('v2 LOCAL (the balancer’s own health check) completes the handshake as the balancer itself', async () => {
    const outcome = await throughBalancer(targetOf(t), v2(V2_LOCAL, 0x00, Buffer.alloc(0)), acme.basic);
    // The balancer is a trusted proxy that names no client in X-Forwarded-For: refused, not served as it.
    expect(outcome).toEqual(answered(400));
  });

  it.each([
    ['v1 with a field missing', Buffer.from('PROXY TCP4 6.6.6.6 10.0.0.1 1111\r\n')],
    ['v1 UNKNOWN (no client address)', Buffer.from('PROXY UNKNOWN\r\n')],
    ['v1 with an invalid address', Buffer.from('PROXY TCP4 6.6.6.666 10.0.0.1 1111 443\r\n')],
    ['v1 TCP6 with an IPv4 address', Buffer.from('PROXY TCP6 6.6.6.6 10.0.0.1 1111 443\r\n')],
    ['v1 with a port out of range', Buffer.from('PROXY TCP4 6.6.6.6 10.0.0.1 65536 443\r\n')],
    ['v1 with a double space', Buffer.from('PROXY TCP4  6.6.6.6 10.0.0.1 1111 443\r\n')],
    ['v1 over 107 bytes without CRLF', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)],
    [
      'v2 of another version',
      Buffer.concat([V2_SIGNATURE, Buffer.from([0x11, V2_TCP4, 0, 12]), Buffer.alloc(12)]),
    ],
    [
      'v2 with an unknown command',
      Buffer.concat([V2_SIGNATURE, Buffer.from([0x22, V2_TCP4, 0, 12]), Buffer.alloc(12)]),
    ],
    ['v2 PROXY with no address family', v2(V2_PROXY, 0x00, Buffer.alloc(0))],
    ['v2 over UDP', v2(V2_PROXY, 0x12, Buffer.alloc(12))],
    ['v2 with an IPv4 block too short', v2(V2_PROXY, V2_TCP4, Buffer.alloc(8))],
    [
      'v2 declaring 60 000 bytes',
      Buffer.concat([V2_SIGNATURE, Buffer.from([V2_PROXY, V2_TCP4, 0xea, 0x60])]),
    ],
    ['an HTTP request instead', Buffer.from('GET / HTTP/1.1\r\nHost: api\r\n\r\n')],
  ])('closes the connection on %s, answering nothing', async (_, header) => {
    const { data, ms } = await rawExchange(targetOf(t), header);
    expect(data).toBe('');
    expect(ms).toBeLessThan(2000);
  });

  it('closes a connection from the trusted balancer that starts with a TLS handshake instead of a header', async () => {
    expect((await throughBalancer(targetOf(t), undefined, acme.basic)).kind).toBe('closed');
  });

  it('does not honour a header from an address that is not a trusted proxy; direct clients are served', async () => {
    const spoofed = await rawExchange(targetOf(t), v1('7.7.7.7'), '127.0.0.2');
    expect(spoofed.data).toMatch(/^HTTP\/1\.1 400 /);
    expect((await throughBalancer(targetOf(t), v1('7.7.7.7'), acme.basic, { from: '127.0.0.2' })).kind).toBe(
      'closed',
    );
    expect(await throughBalancer(targetOf(t), undefined, acme.basic, { from: '127.0.0.2' })).toEqual(
      answered(200),
    );
  });
});

describe('--proxy-protocol with per-address limits: the named client is what is counted', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    t = await startTestServer({
      trustProxy: ['127.0.0.1/32'],
      proxyProtocol: true,
      failedAuthLimitPerClient: 'off',
      failedAuthLimitPerAddress: '4/15m',
      maxConnectionsPerAddress: 2,
    });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  it('two IPv6 clients of one /64 share one failure budget; another /64 has its own', async () => {
    const wrong = basicHeader('acme', mistyped(acme.apiKey));
    for (const last of [1, 2, 1, 0xffff]) {
      const header = v2Tcp6([0x2001, 0xdb8, 5, 6, 0, 0, 0, last]);
      expect(await throughBalancer(targetOf(t), header, wrong)).toEqual(answered(401));
    }
    expect(await throughBalancer(targetOf(t), v1('2001:db8:5:6::9'), acme.basic)).toEqual(answered(429));
    expect(await throughBalancer(targetOf(t), v1('2001:db8:5:7::1'), acme.basic)).toEqual(answered(200));
  });

  it('caps open connections per named client, not per balancer', async () => {
    const open = await Promise.all(
      [1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect({ host: '127.0.0.1', port: t.port }, () => {
              socket.write(v1('6.6.6.7'));
              // Give the server time to read the header and count the connection.
              setTimeout(() => resolve(socket), 100);
            });
          }),
      ),
    );
    const third = await rawExchange(targetOf(t), Buffer.concat([v1('6.6.6.7'), Buffer.from([0x16])]));
    expect(third.data).toBe('');
    expect(third.ms).toBeLessThan(2000);
    expect(await throughBalancer(targetOf(t), v1('6.6.6.8'), acme.basic)).toEqual(answered(200));
    for (const socket of open) socket.destroy();
  });
});

describe('portcullis serve --workers 2 with the connection flags', () => {
  let dataDir: string;
  let server: ServerProcess;
  let target: Target;

  beforeAll(async () => {
    dataDir = tempDataDir();
    server = await spawnServer([
      ...['--workers', '2', '--data-dir', dataDir, '--trust-proxy', '127.0.0.1', '--proxy-protocol'],
      ...['--handshake-timeout-ms', '500', '--max-connections-per-address', '3', '--ipv6-prefix', '48'],
    ]);
    target = { port: server.port, ca: readFileSync(join(dataDir, 'tls-cert.pem'), 'utf8') };
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every worker reads PROXY headers from the trusted balancer and closes it without one', async () => {
    for (let i = 0; i < 4; i++) {
      expect(await throughBalancer(target, v1('2001:db8:9::1'), 'Basic eDp5')).toEqual(answered(401));
      expect((await throughBalancer(target, undefined, 'Basic eDp5')).kind).toBe('closed');
    }
  });

  it('every worker closes a stalled handshake at --handshake-timeout-ms', async () => {
    for (let i = 0; i < 4; i++) {
      const { data, ms } = await rawExchange(target, Buffer.from([0x16]), '127.0.0.2');
      expect(data).toBe('');
      expect(ms).toBeLessThan(2000);
      expect(ms).toBeGreaterThanOrEqual(400);
    }
  });
});
