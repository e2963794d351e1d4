import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestClient, type TestServer } from '../../server/test/helpers/harness.js';
import { ConfigurationError, NetworkError, PortcullisClient } from '../src/index.js';

/**
 * `ca`: a server with a self-signed certificate of its own (not the one the test workers trust through
 * NODE_EXTRA_CA_CERTS), reached by trusting its certificate in the SDK's options alone.
 */
let t: TestServer;
let acme: TestClient;
let cert: string;
let otherCert: string;

beforeAll(async () => {
  t = await startTestServer({ rateLimits: 'off' });
  acme = await t.createClient('acme');
  cert = readFileSync(join(t.dataDir, 'tls-cert.pem'), 'utf8');
  const other = await startTestServer();
  otherCert = readFileSync(join(other.dataDir, 'tls-cert.pem'), 'utf8');
  await other.close();
});
afterAll(() => t.close());

const client = (options: { ca?: unknown; fetch?: unknown }) =>
  new PortcullisClient({
    baseUrl: t.baseUrl,
    clientId: acme.clientId,
    apiKey: acme.apiKey,
    ...(options as { ca?: string }),
  });

describe('ca', () => {
  it('trusts the given PEM certificate: a token, a GET and a PUT with a body', async () => {
    const sdk = client({ ca: cert });
    expect(await sdk.getAccessToken()).toMatch(/\S{20,}/);
    expect(await sdk.request('GET', 'clients')).toMatchObject({ ClientId: 'acme' });
    const updated = await sdk.request('PUT', 'clients', { body: { PlatformDescription: 'Marketplace' } });
    expect(updated).toMatchObject({ ClientId: 'acme' });
    const basic = new PortcullisClient({
      ...{ baseUrl: t.baseUrl },
      ...acme,
      auth: 'basic',
      ca: [cert],
    });
    expect(await basic.request('GET', 'clients')).toMatchObject({ ClientId: 'acme' });
  });

  it('without it, or with another certificate, the server is not trusted and the error says why', async () => {
    for (const sdk of [client({}), client({ ca: otherCert })]) {
      const error = await sdk.getAccessToken().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NetworkError);
      expect(error).toMatchObject({
        reason: 'certificate_untrusted',
        causeCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
      expect((error as NetworkError).message).toMatch(
        /^network error: the server's certificate is not trusted/,
      );
      expect((error as NetworkError).cause).toBeInstanceOf(Error);
    }
  });

  it('refuses what is not PEM text, naming ca, and ca beside fetch', () => {
    for (const ca of [join(t.dataDir, 'tls-cert.pem'), Buffer.from(cert), '', [], [cert, 42]]) {
      expect(() => client({ ca })).toThrow(ConfigurationError);
      expect(() => client({ ca })).toThrow(/^ca must be PEM text/);
    }
    expect(() => client({ ca: cert, fetch })).toThrow(/ca and fetch cannot both be given/);
  });
});
