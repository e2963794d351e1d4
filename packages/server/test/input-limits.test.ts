import https from 'node:https';
import net from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionError, resolveServerOptions } from '../src/config.js';
import { startTestServer, type TestServer, waitUntil } from './helpers/harness.js';

describe('input and connection limits', () => {
  let limited: TestServer;

  beforeAll(async () => {
    limited = await startTestServer({ headersTimeoutMs: 500, requestTimeoutMs: 1000, maxConnections: 3 });
  });
  afterAll(() => limited.close());

  /** A raw TLS connection to the server, trusting its certificate. */
  const connect = () =>
    new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: limited.port, ca: limited.server.tls.cert }, () =>
        resolve(socket),
      );
      socket.once('error', reject);
    });
  const answerOf = (socket: import('node:tls').TLSSocket) =>
    new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      socket.once('close', () => resolve(text));
      socket.once('error', () => resolve(text));
    });

  it('431 for request headers over the limit', async () => {
    const response = await limited.request({
      path: '/v2.01/acme/clients',
      headers: { 'x-padding': 'x'.repeat(20_000) },
    });
    expect(response.status).toBe(431);
    expect(response.json()).toMatchObject({ Type: 'header_too_large', errors: null });
  });

  it('408 and a closed connection when headers arrive too slowly (slowloris)', async () => {
    const socket = await connect();
    const answer = answerOf(socket);
    socket.write('GET /v2.01/acme/clients HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    const text = await answer;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('refuses connections past the cap', async () => {
    const sockets = await Promise.all([connect(), connect(), connect()]);
    const extra = await connect().then(
      (socket) => answerOf(socket).then(() => 'closed'),
      () => 'refused',
    );
    expect(['closed', 'refused']).toContain(extra);
    for (const socket of sockets) socket.destroy();
  });
});

/** An HTTPS GET on a connection of its own from `localAddress`: its status, or the error's code. */
function freshRequest(t: TestServer, localAddress: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: t.port,
        path: '/v2.01/oauth/token',
        localAddress,
        ca: t.server.tls.cert,
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

/** A TCP connection from `localAddress`; resolves once connected, with the time it closed later. */
function rawConnection(port: number, localAddress: string) {
  return new Promise<{ socket: net.Socket; closed: Promise<number> }>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () =>
      resolve({ socket, closed: new Promise((done) => socket.once('close', () => done(Date.now()))) }),
    );
    socket.on('error', () => undefined);
    socket.once('close', () => reject(new Error('closed before connecting')));
  });
}

describe('TLS handshakes that never complete (one 0x16 byte held a connection forever)', () => {
  const HANDSHAKE_TIMEOUT_MS = 1000;
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      maxConnections: 300,
      maxConnectionsPerAddress: 100,
    });
  });
  afterAll(() => t.close());

  it('closes 300 stalled handshakes from one address within the timeout, while 127.0.0.2 is served throughout', async () => {
    const started = Date.now();
    const stalled = await Promise.all(
      Array.from({ length: 300 }, () =>
        rawConnection(t.port, '127.0.0.1').then((connection) => {
          connection.socket.write(Buffer.from([0x16]));
          return connection;
        }),
      ),
    );
    let held = stalled.length;
    for (const { closed } of stalled) void closed.then(() => held--);
    // Sampled for as long as the stalled handshakes are held, not for a fixed time past the timeout.
    const served: (number | string)[] = [];
    while (held > 0 && Date.now() - started < HANDSHAKE_TIMEOUT_MS + 500) {
      served.push(await freshRequest(t, '127.0.0.2'));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // 405: the token endpoint answers GET, so the request reached the application.
    expect(new Set(served)).toEqual(new Set([405]));
    const bound = new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 4000));
    const closedAt = await Promise.all(stalled.map(({ closed }) => Promise.race([closed, bound])));
    expect(Math.max(...closedAt) - started).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1500);
  });

  it('closes a handshake sent one byte at a time at the deadline, not at each byte', async () => {
    const started = Date.now();
    const { socket, closed } = await rawConnection(t.port, '127.0.0.3');
    // A well-formed start of a ClientHello (RFC 8446 §4.1.2): record header, type 1, length, version.
    const hello = Buffer.concat([Buffer.from('1603010200010001fc0303', 'hex'), Buffer.alloc(500)]);
    let sent = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(hello.subarray(sent, sent + 1));
      sent++;
    }, 150);
    const bound = new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 4000));
    const closedAt = await Promise.race([closed, bound]);
    clearInterval(drip);
    socket.destroy();
    expect(closedAt - started).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 1000);
  });
});

describe('open connections per client address', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer({ maxConnectionsPerAddress: 5, trustProxy: ['127.0.0.9/32'] });
  });
  afterAll(() => t.close());

  const secured = (localAddress: string) =>
    new Promise<import('node:tls').TLSSocket>((resolve, reject) => {
      const tcp = net.connect({ host: '127.0.0.1', port: t.port, localAddress });
      const socket = tlsConnect({ socket: tcp, host: 'localhost', ca: t.server.tls.cert }, () =>
        resolve(socket),
      );
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed')));
    });

  it('closes the 6th connection from one address at once while another address is served', async () => {
    const five = await Promise.all(Array.from({ length: 5 }, () => secured('127.0.0.4')));
    await expect(secured('127.0.0.4')).rejects.toThrow();
    expect(await freshRequest(t, '127.0.0.5')).toBe(405);
    // A closed connection frees its place.
    five[0]?.destroy();
    await waitUntil(async () => (await freshRequest(t, '127.0.0.4')) === 405, 3000);
    for (const socket of five) socket.destroy();
  });

  it('does not cap a trusted proxy, whose address every client behind it shares', async () => {
    const many = await Promise.all(Array.from({ length: 8 }, () => secured('127.0.0.9')));
    expect(await freshRequest(t, '127.0.0.9')).toBe(405);
    for (const socket of many) socket.destroy();
  });
});

describe('connection options', () => {
  it.each([
    [{ handshakeTimeoutMs: 50 }, /handshakeTimeoutMs must be an integer from 100 to 120000/],
    [{ maxConnectionsPerAddress: 0 }, /maxConnectionsPerAddress must be an integer from 1/],
    [{ ipv6Prefix: 0 }, /ipv6Prefix must be an integer from 1 to 128/],
    [{ ipv6Prefix: 129 }, /ipv6Prefix must be an integer from 1 to 128/],
    [{ proxyProtocol: true }, /proxyProtocol \(--proxy-protocol\) needs trustProxy \(--trust-proxy\)/],
    [{ proxyProtocol: 'yes' as unknown as boolean, trustProxy: ['10.0.0.1'] }, /proxyProtocol must be true/],
  ])('refuses %j, naming the option', (options, message) => {
    expect(() => resolveServerOptions(options)).toThrow(OptionError);
    expect(() => resolveServerOptions(options)).toThrow(message);
  });

  it('defaults to a 10 s handshake, 256 connections per address, IPv6 per /64, no PROXY protocol', () => {
    const resolved = resolveServerOptions({});
    expect(resolved.connectionLimits).toMatchObject({
      handshakeTimeoutMs: 10_000,
      maxConnectionsPerAddress: 256,
    });
    expect(resolved).toMatchObject({ ipv6Prefix: 64, proxyProtocol: false });
  });
});
