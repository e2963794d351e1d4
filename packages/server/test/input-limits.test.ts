import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.js';

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
