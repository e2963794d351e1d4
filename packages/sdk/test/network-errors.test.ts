import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateTlsMaterial } from '../../server/src/tls/certificate.js';
import { type FetchFunction, NetworkError, PortcullisClient } from '../src/index.js';

const API_KEY = `pcl_sandbox_${'a'.repeat(38)}`;

async function networkError(baseUrl: string, fetch?: FetchFunction): Promise<NetworkError> {
  const sdk = new PortcullisClient({ baseUrl, clientId: 'acme', apiKey: API_KEY, ...(fetch && { fetch }) });
  const error = await sdk.getAccessToken().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(NetworkError);
  return error as NetworkError;
}

function listening<S extends net.Server>(server: S): Promise<S> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

describe('NetworkError names its cause', () => {
  let untrustedDir: string;
  let untrusted: https.Server;
  let silent: net.Server;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    // A certificate of its own, which the test workers' NODE_EXTRA_CA_CERTS does not hold.
    untrustedDir = mkdtempSync(join(tmpdir(), 'portcullis-untrusted-'));
    const material = await loadOrCreateTlsMaterial({ dataDir: untrustedDir, host: '127.0.0.1' });
    untrusted = await listening(https.createServer({ cert: material.cert, key: material.key }));
    // Accepts the connection and never answers the TLS handshake.
    silent = await listening(net.createServer((socket) => sockets.push(socket)));
  });

  afterAll(async () => {
    untrusted.closeAllConnections();
    await new Promise((resolve) => untrusted.close(resolve));
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    rmSync(untrustedDir, { recursive: true, force: true });
  });

  it('connection refused', async () => {
    const closed = await listening(net.createServer());
    const port = portOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const error = await networkError(`https://127.0.0.1:${port}`);
    expect(error).toMatchObject({
      code: 'ERR_NETWORK',
      reason: 'connection_refused',
      causeCode: 'ECONNREFUSED',
    });
    expect(error.message).toBe(`network error: connection refused (connect ECONNREFUSED 127.0.0.1:${port})`);
  });

  it('host name not found', async () => {
    const error = await networkError('https://no-such-host.invalid');
    expect(error.reason).toBe('name_not_found');
    expect(error.message).toMatch(
      /^network error: host name not found \(getaddrinfo \w+ no-such-host\.invalid\)$/,
    );
  });

  it("the server's certificate is not trusted", async () => {
    const error = await networkError(`https://127.0.0.1:${portOf(untrusted)}`);
    expect(error).toMatchObject({
      reason: 'certificate_untrusted',
      causeCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(error.message).toBe(
      "network error: the server's certificate is not trusted (self-signed certificate)",
    );
  });

  it('a connection that times out (undici, with its connect timeout shortened)', async () => {
    const dispatcher = new Agent({ connect: { timeout: 200 } });
    const fetch: FetchFunction = (input, init) =>
      undiciFetch(input as Parameters<typeof undiciFetch>[0], {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher,
      }) as unknown as Promise<Response>;
    const error = await networkError(`https://127.0.0.1:${portOf(silent)}`, fetch);
    expect(error).toMatchObject({ reason: 'timeout', causeCode: 'UND_ERR_CONNECT_TIMEOUT' });
    expect(error.message).toMatch(/^network error: timed out \(/);
    await dispatcher.close();
  });

  it('anything else keeps the deepest message', () => {
    const error = new NetworkError(new TypeError('fetch failed', { cause: new Error('bad port') }));
    expect(error).toMatchObject({ reason: 'other', causeCode: undefined });
    expect(error.message).toBe('network error: request failed (bad port)');
  });
});
