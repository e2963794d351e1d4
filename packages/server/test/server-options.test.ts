import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { flagOf, valuesOf } from '../src/cli/option-flags.js';
import { OptionError, resolveServerOptions, type ServerOptions } from '../src/config.js';
import { generateApiKey } from '../src/keys/api-key.js';
import { SERVER_OPTIONS } from '../src/options/server-option-table.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import { basicHeader, startTestServer, tempDataDir } from './helpers/harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('server options', () => {
  it.each([
    [{ port: 70_000 }, /port must be an integer from 0 to 65535/],
    [{ tokenTtlSeconds: 0 }, /tokenTtlSeconds must be an integer/],
    [{ tlsCert: 'cert.pem' }, /tlsCert and tlsKey must be given together/],
    [{ upstream: 'ftp://example.test' }, /upstream must be an http/],
    [{ upstream: 'http://user:pw@example.test' }, /must not carry/],
    [{ environment: 'staging' as 'sandbox' }, /environment must be/],
    [{ rateLimits: '10/fortnight' }, /rateLimits must be COUNT\/WINDOW/],
    [{ tokenLimit: '0/1m' }, /tokenLimit must be COUNT\/WINDOW/],
  ])('refuses %j, naming the option', (options, message) => {
    expect(() => resolveServerOptions(options)).toThrow(OptionError);
    expect(() => resolveServerOptions(options)).toThrow(message);
  });

  it('never changes the options object it is given', () => {
    const options = Object.freeze({ port: 0 });
    const resolved = resolveServerOptions(options);
    expect(options).toEqual({ port: 0 });
    expect(resolved.tokenTtlSeconds).toBe(3600);
    expect(Object.isFrozen(resolved)).toBe(true);
  });
});

/** What `serve` would pass to the server for `args`, with `env` as its environment. */
function fromCommandLine(args: readonly string[], env: Readonly<Record<string, string>> = {}): ServerOptions {
  const command = new Command().exitOverride();
  for (const row of Object.values(SERVER_OPTIONS)) command.addOption(flagOf(row));
  const saved = { ...process.env };
  // Only `env` is the environment here, not what the test run sets (PORTCULLIS_ADMIN_PORT, for one).
  for (const name of Object.keys(saved)) if (name.startsWith('PORTCULLIS_')) delete process.env[name];
  Object.assign(process.env, env);
  try {
    command.parse(args, { from: 'user' });
  } finally {
    for (const name of Object.keys(process.env)) if (name.startsWith('PORTCULLIS_')) delete process.env[name];
    Object.assign(process.env, saved);
  }
  return valuesOf(SERVER_OPTIONS, command.opts());
}

describe('server options as flags and PORTCULLIS_* variables (one option table)', () => {
  it('gives the same options as a program that passes none, when nothing is given', () => {
    const { logger: _cli, ...fromFlags } = resolveServerOptions(fromCommandLine([]));
    const { logger: _program, ...fromProgram } = resolveServerOptions({});
    expect(fromFlags).toEqual(fromProgram);
  });

  it('takes a variable when its flag is not given, and the flag when both are', () => {
    const env = { PORTCULLIS_TOKEN_TTL: '60', PORTCULLIS_REVOKE_EXPOSED_KEYS: '1' };
    expect(fromCommandLine([], env)).toMatchObject({ tokenTtlSeconds: 60, revokeExposedKeys: true });
    expect(fromCommandLine(['--token-ttl', '30'], env)).toMatchObject({ tokenTtlSeconds: 30 });
  });

  it('takes a list of addresses from a repeated flag, several values, or one comma-separated variable', () => {
    const expected = ['10.0.0.1', '10.1.0.0/16'];
    expect(fromCommandLine(['--trust-proxy', '10.0.0.1', '--trust-proxy', '10.1.0.0/16']).trustProxy).toEqual(
      expected,
    );
    expect(fromCommandLine(['--trust-proxy', '10.0.0.1', '10.1.0.0/16']).trustProxy).toEqual(expected);
    expect(fromCommandLine([], { PORTCULLIS_TRUST_PROXY: '10.0.0.1,10.1.0.0/16' }).trustProxy).toEqual(
      expected,
    );
  });

  it('has a flag for every connection limit and timeout', () => {
    const resolved = resolveServerOptions(
      fromCommandLine([
        ...['--max-connections', '500', '--max-header-bytes', '2048', '--headers-timeout-ms', '2000'],
        ...['--request-timeout-ms', '4000', '--keep-alive-timeout-ms', '1000', '--store-timeout-ms', '100'],
        ...['--shutdown-grace-ms', '0', '--upstream-timeout-ms', '1500'],
      ]),
    );
    expect(resolved.connectionLimits).toMatchObject({
      maxConnections: 500,
      maxHeaderBytes: 2048,
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
    });
    expect(resolved).toMatchObject({ storeTimeoutMs: 100, shutdownGraceMs: 0, upstreamTimeoutMs: 1500 });
  });

  it.each([
    [['--port', 'many'], /^port must be an integer from 0 to 65535 \(--port, PORTCULLIS_PORT\)$/],
    [
      ['--token-limit', 'lots'],
      /^tokenLimit must be COUNT\/WINDOW.* \(--token-limit, PORTCULLIS_TOKEN_LIMIT\)$/,
    ],
    [['--tls-key', 'key.pem'], /^tlsCert and tlsKey must be given together \(--tls-cert and --tls-key\)$/],
    [['--headers-timeout-ms', '40000'], /\(--headers-timeout-ms, --request-timeout-ms\)$/],
  ])('refuses %j naming the option and its flag', (args, message) => {
    expect(() => resolveServerOptions(fromCommandLine(args))).toThrow(message);
  });
});

describe('TLS certificate', () => {
  it('makes a self-signed certificate naming localhost, 127.0.0.1, ::1 and the host, and reuses it', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const first = await startTestServer({ dataDir });
    const pem = readFileSync(join(dataDir, 'tls-cert.pem'), 'utf8');
    const certificate = new X509Certificate(pem);
    expect(certificate.checkHost('localhost')).toBe('localhost');
    expect(certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(certificate.checkIP('::1')).toBe('::1');
    expect(first.server.tls.created).toBe(true);
    expect(first.server.tls.fingerprint256).toBe(certificate.fingerprint256);
    await first.close();
    const second = await startTestServer({ dataDir });
    expect(second.server.tls.created).toBe(false);
    expect(second.server.tls.fingerprint256).toBe(certificate.fingerprint256);
    await second.close();
  });

  it('uses the certificate and key given with tlsCert and tlsKey', async () => {
    const source = tempDataDir();
    const dataDir = tempDataDir();
    dirs.push(source, dataDir);
    const maker = await startTestServer({ dataDir: source });
    await maker.close();
    const t = await startTestServer({
      dataDir,
      tlsCert: join(source, 'tls-cert.pem'),
      tlsKey: join(source, 'tls-key.pem'),
    });
    try {
      expect(t.server.tls.fingerprint256).toBe(maker.server.tls.fingerprint256);
      expect((await t.request({ path: '/' })).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('server-wide settings', () => {
  it('issues tokens with the server token lifetime, and a per-client lifetime overrides it', async () => {
    const t = await startTestServer({ tokenTtlSeconds: 60 });
    try {
      const plain = await t.createClient('plain');
      const custom = await t.createClient('custom', { tokenTtlSeconds: 30 });
      for (const [client, expected] of [
        [plain, 60],
        [custom, 30],
      ] as const) {
        const response = await t.request({
          method: 'POST',
          path: '/v2.01/oauth/token',
          headers: { authorization: client.basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
        expect(response.json().expires_in).toBe(expected);
      }
    } finally {
      await t.close();
    }
  });

  it('a production server refuses sandbox keys on API routes with wrong_environment', async () => {
    const t = await startTestServer({ environment: 'production' });
    try {
      await t.createClient('live');
      const response = await t.request({
        path: '/v2.01/live/clients',
        headers: { authorization: basicHeader('live', generateApiKey('sandbox')) },
      });
      expect(response.status).toBe(401);
      expect(response.json()).toMatchObject({ Type: 'wrong_environment' });
      expect(response.json().Message).toMatch(/production/);
    } finally {
      await t.close();
    }
  });

  it('a sandbox token is refused by a production server sharing its secret (environment bound into the seal)', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const sandbox = await startTestServer({ dataDir });
    const client = await sandbox.createClient('both');
    const token = await sandbox.token(client);
    await sandbox.close();
    const production = await startTestServer({ dataDir, environment: 'production' });
    try {
      const response = await production.request({
        path: '/v2.01/both/clients',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(401);
      expect(response.json()).toMatchObject({ Type: 'invalid_token' });
    } finally {
      await production.close();
    }
  });

  it('records when each key was last used, without a write per request', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const t = await startTestServer({ dataDir });
    const client = await t.createClient('tracked');
    const before = Date.now();
    await t.request({ path: '/v2.01/tracked/clients', headers: { authorization: client.basic } });
    await t.close();
    const store = new SqliteStore(dataDir);
    const [key] = await store.listApiKeys('tracked');
    await store.close();
    expect(key?.lastUsedAt).toBeGreaterThanOrEqual(before);
  });
});
