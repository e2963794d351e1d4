import type { X509Certificate } from 'node:crypto';
import { createServer as createTlsServer, type SecureVersion, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/harness.js';

/**
 * Regression tests for TLS settings an audit found sound (issue 10, "checked and sound"): they must stay
 * so. RFC 8996 deprecates TLS 1.0 and 1.1.
 */

/** The protocol a handshake at exactly `version` negotiates with `port`, or the error's code. */
function handshakeAt(port: number, version: SecureVersion, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca,
      minVersion: version,
      maxVersion: version,
      // OpenSSL's default security level forbids TLS 1.0/1.1 in this client too; level 0 lets it try, so
      // that only the server's refusal is measured.
      ciphers: 'DEFAULT@SECLEVEL=0',
      servername: 'localhost',
    });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'unknown');
      socket.destroy();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('TLS protocol versions (RFC 8996)', () => {
  let t: TestServer;
  let permissive: ReturnType<typeof createTlsServer>;
  let permissivePort: number;

  beforeAll(async () => {
    t = await startTestServer();
    // The control: a server that allows TLS 1.0, with the same certificate, shows this client can speak it.
    permissive = createTlsServer({
      cert: t.server.tls.cert,
      key: t.server.tls.key,
      minVersion: 'TLSv1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    permissive.on('secureConnection', (socket) => socket.end());
    permissive.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => permissive.listen(0, '127.0.0.1', resolve));
    permissivePort = (permissive.address() as { port: number }).port;
  });
  afterAll(async () => {
    permissive.close();
    await t.close();
  });

  it.each(['TLSv1', 'TLSv1.1'] as const)(
    'refuses a %s handshake that a permissive server accepts',
    async (version) => {
      expect(await handshakeAt(permissivePort, version, t.server.tls.cert)).toBe(version);
      expect(await handshakeAt(t.port, version, t.server.tls.cert)).not.toBe(version);
    },
  );

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('accepts %s', async (version) => {
    expect(await handshakeAt(t.port, version, t.server.tls.cert)).toBe(version);
  });
});

describe('the self-signed certificate', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('is the one served: ECDSA P-256, valid 825 days (the most Apple platforms accept for a locally trusted one), not a CA', async () => {
    const served = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = tlsConnect(
        { host: '127.0.0.1', port: t.port, ca: t.server.tls.cert, servername: 'localhost' },
        () => {
          resolve(socket.getPeerX509Certificate() as X509Certificate);
          socket.destroy();
        },
      );
      socket.once('error', reject);
    });
    expect(served.fingerprint256).toBe(t.server.tls.fingerprint256);
    expect(served.publicKey.asymmetricKeyType).toBe('ec');
    expect(served.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const days = (Date.parse(served.validTo) - Date.parse(served.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(825);
    expect(served.ca).toBe(false);
  });
});
