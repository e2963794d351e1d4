import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environment } from '../src/domain/environment.js';
import { AccessTokens } from '../src/keys/access-tokens.js';
import { ServerSecrets } from '../src/keys/server-secret.js';
import { startTestServer, type TestClient, type TestServer } from './helpers/harness.js';
import { apiKeyRecord } from './helpers/records.js';

/**
 * Issue 12 §8: tokens are sealed with XAES-256-GCM (version 3), so no AES-GCM key nears NIST SP 800-38D's
 * 2^32 random nonces, and tokens sealed before (version 2) keep opening until they expire.
 */

/** Made by the version-2 code before version 3 existed, with the secret and claims below. */
const FIXTURE = {
  token:
    'Aqqc3agNHXu_Tleqrx9TnwJNdbDLgiwYRbLoHhfasElErJKX4UbsOAhetn__EegTPGqt4SDcltMkHnUfXqysL3cSW15dA8tKQp5PgSsk7xDe0GZ8pNuUYDk',
  serverSecret: Buffer.alloc(32, 0x5e),
  environment: 'production' as const,
  claims: {
    tokenId: 'AHA1CAVymfoqp78xDq-8Pg',
    scope: 'read' as const,
    issuedAt: Date.UTC(2026, 0, 1),
    expiresAt: Date.UTC(2026, 0, 1) + 100 * 365 * 86_400_000,
    keyId: 'key_legacyfixture',
    clientId: 'legacy-client',
  },
};

interface Version2Claims {
  readonly tokenId: Buffer;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly keyId: string;
  readonly clientId: string;
}

/**
 * A version-2 token as that code sealed it: AES-256-GCM under HKDF-SHA-256(secret, "portcullis access
 * token encryption v1"), version (1) | nonce (12) | ciphertext | tag (16), associated data "2:<environment>".
 * Written from that layout; the fixture checks it byte for byte.
 */
function sealVersion2(secret: Buffer, environment: Environment, claims: Version2Claims, nonce: Buffer) {
  const key = Buffer.from(
    hkdfSync('sha256', secret, Buffer.alloc(0), 'portcullis access token encryption v1', 32),
  );
  const times = Buffer.alloc(12);
  times.writeUIntBE(claims.issuedAt, 0, 6);
  times.writeUIntBE(claims.expiresAt, 6, 6);
  const keyId = Buffer.from(claims.keyId);
  const plaintext = Buffer.concat([
    claims.tokenId,
    times,
    Buffer.of(1, keyId.length), // scope read
    keyId,
    Buffer.from(claims.clientId),
  ]);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(`2:${environment}`));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([Buffer.of(2), nonce, sealed]).toString('base64url');
}

function tokensFor(serverSecret: Buffer, environment: Environment) {
  return new AccessTokens({
    directory: { lookup: async () => null },
    secrets: new ServerSecrets([serverSecret], 'the test'),
    environment,
  });
}

describe('tokens sealed before XAES-256-GCM (version 2)', () => {
  it('open with the secret that sealed them, to the claims they were sealed with', () => {
    const claims = tokensFor(FIXTURE.serverSecret, FIXTURE.environment).open(FIXTURE.token);
    expect(claims).toEqual(FIXTURE.claims);
  });

  it('do not open under another secret or environment, or with any byte altered', () => {
    expect(tokensFor(Buffer.alloc(32, 0x5f), 'production').open(FIXTURE.token)).toBeUndefined();
    expect(tokensFor(FIXTURE.serverSecret, 'sandbox').open(FIXTURE.token)).toBeUndefined();
    const bytes = Buffer.from(FIXTURE.token, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i] ^= 1;
      const tokens = tokensFor(FIXTURE.serverSecret, FIXTURE.environment);
      expect(tokens.open(altered.toString('base64url'))).toBeUndefined();
    }
  });

  it('are reproduced byte for byte by the test sealer used below', () => {
    const nonce = Buffer.from(FIXTURE.token, 'base64url').subarray(1, 13);
    const claims = { ...FIXTURE.claims, tokenId: Buffer.from(FIXTURE.claims.tokenId, 'base64url') };
    expect(sealVersion2(FIXTURE.serverSecret, FIXTURE.environment, claims, nonce)).toBe(FIXTURE.token);
  });
});

describe('tokens sealed now (version 3, XAES-256-GCM)', () => {
  it('carry version 3 and a 192-bit nonce, and open only as version 3', () => {
    const tokens = tokensFor(FIXTURE.serverSecret, FIXTURE.environment);
    const key = apiKeyRecord({
      keyId: FIXTURE.claims.keyId,
      clientId: FIXTURE.claims.clientId,
      environment: FIXTURE.environment,
    });
    const { accessToken } = tokens.issue(key, 'write', 3600, Date.UTC(2026, 0, 1));
    const bytes = Buffer.from(accessToken, 'base64url');
    // version + nonce + times, scope, key id length, key id, ClientId + tag: 4 bytes under version 2
    expect(bytes.length).toBe(1 + 24 + (12 + 1 + 1 + 17 + 13) + 16);
    expect(bytes[0]).toBe(3);
    expect(tokens.open(accessToken)).toMatchObject({
      tokenId: bytes.subarray(1, 17).toString('base64url'),
      scope: 'write',
      keyId: 'key_legacyfixture',
      clientId: 'legacy-client',
    });
    for (const version of [0, 1, 2, 4, 255]) {
      const relabelled = Buffer.from(bytes);
      relabelled[0] = version;
      expect(
        tokensFor(FIXTURE.serverSecret, FIXTURE.environment).open(relabelled.toString('base64url')),
      ).toBe(undefined);
    }
  });
});

describe('over HTTPS', () => {
  let t: TestServer;
  let client: TestClient;
  const clientsPath = '/v2.01/acme/clients';

  beforeAll(async () => {
    t = await startTestServer();
    client = await t.createClient('acme');
  });
  afterAll(() => t.close());

  function version2Token(expiresAt: number, environment: Environment = t.context.environment) {
    const claims = {
      tokenId: randomBytes(16),
      issuedAt: Date.now(),
      expiresAt,
      keyId: client.keyId,
      clientId: client.clientId,
    };
    return sealVersion2(t.context.serverSecret, environment, claims, randomBytes(12));
  }

  const get = (token: string) =>
    t.request({ path: clientsPath, headers: { authorization: `Bearer ${token}` } });

  it('the token endpoint mints version-3 tokens with distinct 192-bit nonces', async () => {
    const tokens = await Promise.all([1, 2, 3].map(() => t.token(client)));
    const nonces = new Set(
      tokens.map((token) => Buffer.from(token, 'base64url').subarray(1, 25).toString('hex')),
    );
    expect(nonces.size).toBe(3);
    for (const token of tokens) {
      expect(Buffer.from(token, 'base64url')[0]).toBe(3);
      expect((await get(token)).status).toBe(200);
    }
  });

  it('a version-2 token sealed with the server secret is accepted until it expires', async () => {
    expect((await get(version2Token(Date.now() + 3_600_000))).status).toBe(200);
    expect((await get(version2Token(Date.now() - 1000))).status).toBe(401);
  });

  it('a version-2 token can be revoked (RFC 7009) like any other', async () => {
    const token = version2Token(Date.now() + 1_800_000);
    expect((await get(token)).status).toBe(200);
    const revoked = await t.request({
      method: 'POST',
      path: '/v2.01/oauth/revoke',
      headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    expect(revoked.status).toBe(200);
    expect((await get(token)).status).toBe(401);
  });

  it('a version-2 token sealed for another environment, or altered, is refused', async () => {
    const other: Environment = t.context.environment === 'production' ? 'sandbox' : 'production';
    expect((await get(version2Token(Date.now() + 3_600_000, other))).status).toBe(401);
    const bytes = Buffer.from(version2Token(Date.now() + 7_200_000), 'base64url');
    bytes[20] ^= 1;
    expect((await get(bytes.toString('base64url'))).status).toBe(401);
  });
});
