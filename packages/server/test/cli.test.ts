import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServerProcess, spawnServer } from './helpers/cli.js';
import { basicHeader, httpsRequest, tempDataDir, waitUntil } from './helpers/harness.js';

const API_KEY = /^pcl_sandbox_[0-9A-Za-z]{38}$/;

let dataDir: string;
beforeAll(() => {
  dataDir = tempDataDir();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * These tests poll with refused credentials until a change applies, so the brute-force limit (tested in
 * abuse.test.ts) is lifted for the address and ClientId.
 */
function serveArgs(): string[] {
  return ['--data-dir', dataDir, '--failed-auth-limit-per-client', 'off'];
}

async function cli(...args: string[]) {
  return runCli([...args, '--data-dir', dataDir]);
}

function expectOneLineError(result: { code: number; stdout: string; stderr: string }, pattern: RegExp) {
  expect(result.code).not.toBe(0);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('portcullis clients and keys', () => {
  it('clients create --json prints the ClientId, the first key id and the API key', async () => {
    const result = await cli('clients', 'create', 'acme', '--name', 'Acme Inc', '--json');
    expect(result.code).toBe(0);
    const created = JSON.parse(result.stdout);
    expect(Object.keys(created).sort()).toEqual(['apiKey', 'clientId', 'keyId']);
    expect(created.clientId).toBe('acme');
    expect(created.apiKey).toMatch(API_KEY);
  });

  it('keys create --json prints the key id and the API key; keys list never shows a key', async () => {
    const created = JSON.parse(
      (await cli('keys', 'create', 'acme', '--alias', 'ci', '--expires-in-days', '30', '--json')).stdout,
    );
    expect(Object.keys(created).sort()).toEqual(['apiKey', 'keyId']);
    expect(created.apiKey).toMatch(API_KEY);
    const listed = await cli('keys', 'list', 'acme', '--json');
    expect(listed.code).toBe(0);
    const keys = JSON.parse(listed.stdout) as {
      keyId: string;
      alias: string | null;
      expiresAt: string | null;
    }[];
    expect(keys).toHaveLength(2);
    expect(keys.find((k) => k.keyId === created.keyId)).toMatchObject({ alias: 'ci', status: 'active' });
    expect(keys.find((k) => k.keyId === created.keyId)?.expiresAt).not.toBeNull();
    expect(listed.stdout).not.toContain('pcl_');
    expect((await cli('keys', 'list', 'acme')).stdout).toMatch(/KEY ID\s+ALIAS\s+SCOPE\s+STATUS\s+EXPOSED/);
  });

  it('clients list, show, disable and enable', async () => {
    const list = JSON.parse((await cli('clients', 'list', '--json')).stdout);
    expect(list).toEqual([expect.objectContaining({ clientId: 'acme', name: 'Acme Inc', status: 'active' })]);
    expect((await cli('clients', 'disable', 'acme')).stdout).toContain('disabled');
    expect(JSON.parse((await cli('clients', 'show', 'acme', '--json')).stdout).status).toBe('disabled');
    expect((await cli('clients', 'enable', 'acme')).stdout).toContain('active');
    const shown = await cli('clients', 'show', 'acme');
    expect(shown.stdout).toMatch(/Status:\s+active/);
    expect(shown.stdout).not.toContain('pcl_');
  });

  it('keys revoke marks the key revoked', async () => {
    const created = JSON.parse((await cli('keys', 'create', 'acme', '--json')).stdout);
    const revoked = await cli('keys', 'revoke', 'acme', created.keyId, '--json');
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ keyId: created.keyId, status: 'revoked' });
  });

  it('keys create --scopes read, keys rotate --json with a grace, and keys list shows scope and replacement', async () => {
    const created = JSON.parse(
      (await cli('keys', 'create', 'acme', '--scopes', 'read', '--alias', 'reports', '--json')).stdout,
    );
    const rotated = await cli('keys', 'rotate', 'acme', created.keyId, '--grace-hours', '2', '--json');
    expect(rotated.code).toBe(0);
    const fresh = JSON.parse(rotated.stdout);
    expect(Object.keys(fresh).sort()).toEqual(['apiKey', 'keyId']);
    expect(fresh.apiKey).toMatch(API_KEY);
    const keys = JSON.parse((await cli('keys', 'list', 'acme', '--json')).stdout) as Record<
      string,
      unknown
    >[];
    const old = keys.find((k) => k.keyId === created.keyId);
    expect(old).toMatchObject({ scope: 'read', alias: 'reports', status: 'active', replacedBy: fresh.keyId });
    const hoursLeft = (Date.parse(old?.expiresAt as string) - Date.now()) / 3_600_000;
    expect(hoursLeft).toBeGreaterThan(1.9);
    expect(hoursLeft).toBeLessThanOrEqual(2);
    expect(keys.find((k) => k.keyId === fresh.keyId)).toMatchObject({ scope: 'read', alias: 'reports' });
    expectOneLineError(await cli('keys', 'create', 'acme', '--scopes', 'admin'), /admin/);
    const now = await cli('keys', 'rotate', 'acme', fresh.keyId, '--grace-hours', '0');
    expect(now.stdout).toMatch(/stopped working now/);
    expectOneLineError(await cli('keys', 'rotate', 'acme', fresh.keyId), /revoked or expired/);
  });

  it('clients update sets and clears per-client rate limits, refusing malformed ones', async () => {
    const updated = JSON.parse(
      (await cli('clients', 'update', 'acme', '--rate-limits', '100/1m,1000/1h', '--json')).stdout,
    );
    expect(updated.rateLimits).toBe('100/1m,1000/1h');
    expectOneLineError(await cli('clients', 'update', 'acme', '--rate-limits', 'lots'), /COUNT\/WINDOW/);
    const cleared = JSON.parse(
      (await cli('clients', 'update', 'acme', '--rate-limits', 'default', '--json')).stdout,
    );
    expect(cleared.rateLimits).toBeNull();
  });

  it('introspectors create --json, list and revoke, never listing a key', async () => {
    const created = JSON.parse((await cli('introspectors', 'create', 'gateway', '--json')).stdout);
    expect(Object.keys(created).sort()).toEqual(['apiKey', 'clientId']);
    expect(created).toMatchObject({ clientId: 'gateway', apiKey: expect.stringMatching(API_KEY) });
    expectOneLineError(await cli('introspectors', 'create', 'gateway'), /already exists/);
    const listed = await cli('introspectors', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ clientId: 'gateway', status: 'active' }),
    ]);
    expect(listed.stdout).not.toContain('pcl_');
    expect((await cli('introspectors', 'revoke', 'gateway')).stdout).toMatch(/revoked/);
    expect((await cli('introspectors', 'list')).stdout).toMatch(/gateway\s+revoked/);
  });

  it('admins create prints the token once; list never shows it; revoke; the trail names the CLI as actor', async () => {
    const created = await cli('admins', 'create', 'ops-alice', '--json');
    expect(created.code).toBe(0);
    const { token, ...rest } = JSON.parse(created.stdout) as { token: string };
    expect(rest).toEqual({ name: 'ops-alice', role: 'operator' });
    expect(token).toMatch(/^pca_[0-9A-Za-z]{38}$/);
    const text = await cli('admins', 'create', 'ops-bob', '--role', 'viewer');
    expect(text.stdout).toMatch(/Authorization: Bearer/);
    expect(text.stdout).toMatch(/shown only this once/);
    const bobToken = /pca_[0-9A-Za-z]{38}/.exec(text.stdout)?.[0] as string;
    expect(bobToken).toBeDefined();
    expectOneLineError(await cli('admins', 'create', 'OPS-ALICE'), /already exists/);
    expectOneLineError(await cli('admins', 'create', 'ops-carol', '--role', 'root'), /--role/);
    // An admin token given in place of a name is not echoed.
    const wrong = await cli('admins', 'revoke', token);
    expectOneLineError(wrong, /no admin/);
    expect(wrong.stderr).not.toContain(token);

    const listed = await cli('admins', 'list', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ name: 'ops-alice', role: 'operator', status: 'active' }),
      expect.objectContaining({ name: 'ops-bob', role: 'viewer', status: 'active' }),
    ]);
    for (const output of [listed.stdout, (await cli('admins', 'list')).stdout]) {
      expect(output).not.toContain('pca_');
      expect(output).not.toMatch(/hash/i);
    }
    expect((await cli('admins', 'revoke', 'ops-bob')).stdout).toMatch(/revoked/);
    expect((await cli('admins', 'list')).stdout).toMatch(/ops-bob\s+viewer\s+revoked/);

    const trail = JSON.parse((await cli('audit', '--json')).stdout) as { type: string; actor: unknown }[];
    const adminEntries = trail.filter((e) => e.type.startsWith('admin.'));
    expect(adminEntries.map((e) => [e.type, e.actor])).toEqual([
      ['admin.created', 'cli'],
      ['admin.created', 'cli'],
      ['admin.revoked', 'cli'],
    ]);
    const all = JSON.stringify(trail);
    expect(all).not.toContain(token);
    expect(all).not.toContain(bobToken);
  });

  it('audit --json --client reads the trail; --since filters it', async () => {
    const result = await cli('audit', '--client', 'acme', '--json');
    expect(result.code).toBe(0);
    const types = (JSON.parse(result.stdout) as { type: string }[]).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['client.created', 'key.created', 'key.rotated', 'key.revoked']),
    );
    expect(result.stdout).not.toContain('pcl_');
    expect(JSON.parse((await cli('audit', '--since', '2999-01-01T00:00:00Z', '--json')).stdout)).toEqual([]);
    expect((await cli('audit', '--since', '1h')).stdout).toMatch(/^AT\s+EVENT\s+ACTOR\s+CLIENT/);
    expectOneLineError(await cli('audit', '--since', 'yesterday'), /ISO 8601/);
  });

  it('takes flags from PORTCULLIS_<FLAG> environment variables', async () => {
    const result = await runCli(['clients', 'list', '--json'], { PORTCULLIS_DATA_DIR: dataDir });
    expect(JSON.parse(result.stdout)).toHaveLength(1);
  });

  it.each([
    [['clients', 'create', 'acme'], /already exists/],
    // Upstream APIs may compare ClientIds case-insensitively: Acme would be acme to them.
    [['clients', 'create', 'Acme'], /differs from it only in case/],
    [['clients', 'create', 'OAuth'], /invalid ClientId/],
    [['clients', 'create', 'bad id!'], /invalid ClientId/],
    [['clients', 'create', 'oauth'], /invalid ClientId/],
    [['clients', 'show', 'nobody'], /no client "nobody"/],
    [['keys', 'create', 'nobody'], /no client "nobody"/],
    [['keys', 'revoke', 'acme', 'key_nothing'], /has no key key_nothing/],
    [['clients', 'delete', 'nobody'], /no client "nobody"/],
    [['keys', 'delete', 'acme', 'key_nothing'], /has no key key_nothing/],
    [['keys', 'create', 'acme', '--expires-in-days', 'soon'], /expected an integer/],
    [['clients', 'list', '--bogus'], /unknown option '--bogus'/],
    [['serve', '--env', 'staging'], /Allowed choices are sandbox, production/],
    [['serve', '--token-limit', 'lots'], /tokenLimit must be COUNT\/WINDOW/],
    [['nonsense'], /unknown command 'nonsense'/],
  ])('%j fails with one clear line and a non-zero exit', async (args, pattern) => {
    expectOneLineError(await cli(...args), pattern);
  });

  it('never echoes an API key given in place of a ClientId', async () => {
    const created = JSON.parse((await cli('keys', 'create', 'acme', '--json')).stdout);
    const result = await cli('keys', 'list', created.apiKey);
    expectOneLineError(result, /no client/);
    expect(result.stderr).not.toContain(created.apiKey);
  });

  it.each([
    [[]],
    [['serve']],
    [['clients']],
    [['clients', 'create']],
    [['keys', 'list']],
    [['keys', 'revoke']],
  ])('%j --help prints usage', async (args) => {
    const result = await runCli([...args, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: portcullis/);
  });
});

describe('portcullis explains itself', () => {
  it("--version prints the server package's version", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it.each([
    [['nonsense'], /^portcullis: unknown command 'nonsense'/],
    [['clients', 'create'], /^portcullis: missing required argument 'ClientId'/],
    [['audit', '--limit', '0'], /^portcullis: option '--limit <count>' argument '0' is invalid/],
    [
      ['token', '--base-url', 'http://127.0.0.1:8443'],
      /^portcullis: option '--base-url <url>' argument .* expected an https: URL/,
    ],
  ])('%j: commander\'s refusals start with "portcullis:" and name the flag', async (args, pattern) => {
    expectOneLineError(await runCli(args), pattern);
  });

  it('serve --help shows each default once', async () => {
    const help = (await runCli(['serve', '--help'])).stdout;
    // One entry per option: its flag line and the lines its description wraps onto.
    const entries = help.split(/\n(?= {2}-)/).filter((entry) => entry.trimStart().startsWith('--'));
    expect(entries.length).toBeGreaterThan(30);
    for (const entry of entries) expect(entry.match(/default:/g)?.length ?? 0, entry).toBeLessThanOrEqual(1);
    expect(help).toMatch(
      /--workers <count>\s+worker processes sharing the port \(default: the number of\s+CPUs, env:/,
    );
  });

  /** The README's "The CLI" section says which of these flags each command takes. */
  const STORE_FLAGS = [
    '--data-dir',
    '--store',
    '--cache',
    '--cache-prefix',
    '--secrets-file',
    '--json',
    '--help',
  ];
  const CLIENT_FLAGS = ['--data-dir', '--help', '--base-url', '--client-id', '--api-key', '--ca-file'];
  const SAID = [...new Set([...STORE_FLAGS, ...CLIENT_FLAGS])];
  it.each([
    ...[
      'clients create',
      'clients update',
      'clients list',
      'clients show',
      'clients disable',
      'clients enable',
      'clients delete',
      'keys create',
      'keys list',
      'keys rotate',
      'keys revoke',
      'keys delete',
      'introspectors create',
      'introspectors list',
      'introspectors revoke',
      'admins create',
      'admins list',
      'admins revoke',
      'audit',
      'audit prune',
    ].map((command) => [command, STORE_FLAGS] as const),
    ['migrate', ['--data-dir', '--store', '--json', '--help']],
    ['serve', ['--data-dir', '--store', '--cache', '--cache-prefix', '--secrets-file', '--help']],
    ['token', [...CLIENT_FLAGS, '--json']],
    ['call', CLIENT_FLAGS],
  ] as const)('%s takes the flags the README says', async (command, flags) => {
    const help = (await runCli([...command.split(' '), '--help'])).stdout;
    const taken = [...help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((match) => match[1]);
    expect(SAID.filter((flag) => taken.includes(flag)).sort()).toEqual([...flags].sort());
  });
});

describe('portcullis token and call explain what they need', () => {
  const withoutCredentials = { PORTCULLIS_CLIENT_ID: undefined, PORTCULLIS_API_KEY: undefined };

  it.each([
    [
      ['token'],
      /no ClientId and API key: set PORTCULLIS_CLIENT_ID and PORTCULLIS_API_KEY \(or give --client-id and --api-key\)/,
    ],
    [['call', 'GET', 'clients'], /no ClientId and API key: .*--client-id and --api-key/],
    [['token', '--client-id', 'acme'], /no API key: set PORTCULLIS_API_KEY \(or give --api-key\)/],
    [
      ['call', 'GET', 'clients', '--api-key', 'pcl_sandbox_x'],
      /no ClientId: set PORTCULLIS_CLIENT_ID \(or give --client-id\)/,
    ],
  ])('%j without credentials names what to give', async (args, pattern) => {
    const result = await runCli(args, withoutCredentials);
    expectOneLineError(result, pattern);
    expect(result.stderr).toMatch(/^portcullis: /);
  });

  it('a refused connection is named, with the flag to check', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runCli(['token', '--base-url', `https://127.0.0.1:${port}`], {
      PORTCULLIS_CLIENT_ID: 'acme',
      PORTCULLIS_API_KEY: `pcl_sandbox_${'a'.repeat(38)}`,
    });
    expectOneLineError(
      result,
      new RegExp(
        `^portcullis: network error: connection refused \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\): is the server running at https://127\\.0\\.0\\.1:${port}\\? \\(--base-url\\)`,
      ),
    );
  });
});

describe('portcullis serve', () => {
  let server: ServerProcess;
  let agent: https.Agent;
  let apiKey: string;

  const get = (path: string, authorization?: string) =>
    httpsRequest(server.port, agent, { path, headers: authorization === undefined ? {} : { authorization } });
  /** What `token` and `call` need to reach this server as client "served". */
  const clientEnv = () => ({
    PORTCULLIS_CLIENT_ID: 'served',
    PORTCULLIS_API_KEY: apiKey,
    PORTCULLIS_BASE_URL: `https://127.0.0.1:${server.port}`,
    PORTCULLIS_DATA_DIR: dataDir,
  });
  /** On a new connection, which the kernel may give to any worker. */
  const freshGet = (path: string, authorization: string) =>
    httpsRequest(server.port, new https.Agent({ ca: readFileSync(join(dataDir, 'tls-cert.pem')) }), {
      path,
      headers: { authorization },
    });
  const token = async (key: string) => {
    const response = await httpsRequest(server.port, agent, {
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: {
        authorization: basicHeader('served', key),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    return response.json<{ access_token: string }>().access_token;
  };

  beforeAll(async () => {
    server = await spawnServer(serveArgs());
    agent = new https.Agent({ ca: readFileSync(join(dataDir, 'tls-cert.pem')) });
    apiKey = JSON.parse((await cli('clients', 'create', 'served', '--json')).stdout).apiKey;
  });
  afterAll(async () => {
    agent.destroy();
    await server.stop('SIGKILL');
  });

  it('prints the certificate path and SHA-256 fingerprint', () => {
    expect(server.output()).toContain(join(dataDir, 'tls-cert.pem'));
    expect(server.output()).toMatch(/SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
  });

  it('applies a key revoked by the CLI within one second', async () => {
    const created = JSON.parse((await cli('keys', 'create', 'served', '--json')).stdout);
    const bearer = `Bearer ${await token(created.apiKey)}`;
    expect((await get('/v2.01/served/clients', bearer)).status).toBe(200);
    await cli('keys', 'revoke', 'served', created.keyId);
    // The server runs two workers by default: the key must be refused by both, whichever answers.
    const basic = basicHeader('served', created.apiKey);
    const refusedEverywhere = async () => {
      const answers = await Promise.all(
        [bearer, basic, bearer, basic].map((authorization) =>
          freshGet('/v2.01/served/clients', authorization),
        ),
      );
      return answers.every((answer) => answer.status === 401);
    };
    const elapsed = await waitUntil(refusedEverywhere, 1000);
    expect(elapsed).toBeLessThan(1000);
  });

  it('applies a client disabled by the CLI within one second', async () => {
    const basic = basicHeader('served', apiKey);
    const everywhere = (status: number) => async () =>
      (await Promise.all([1, 2, 3, 4].map(() => freshGet('/v2.01/served/clients', basic)))).every(
        (answer) => answer.status === status,
      );
    await cli('clients', 'disable', 'served');
    await waitUntil(everywhere(401), 1000);
    await cli('clients', 'enable', 'served');
    await waitUntil(everywhere(200), 1000);
  });

  it('token and call work through the SDK with credentials from the environment only', async () => {
    const env = clientEnv();
    const token = await runCli(['token'], env);
    expect(token.code).toBe(0);
    const bearer = `Bearer ${token.stdout.trim()}`;
    expect((await get('/v2.01/served/clients', bearer)).status).toBe(200);
    const call = await runCli(['call', 'GET', 'clients'], env);
    expect(call.code).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ ClientId: 'served' });
    const update = await runCli(
      ['call', 'PUT', 'clients', '--data', '{"PlatformDescription":"via cli"}'],
      env,
    );
    expect(JSON.parse(update.stdout).PlatformDescription).toBe('via cli');
    const refused = await runCli(['call', 'PUT', 'clients', '--data', '{"TechEmails":"x"}'], env);
    expectOneLineError(refused, /400 param_error/);
    const missing = await runCli(['token'], { ...env, PORTCULLIS_API_KEY: '' });
    expectOneLineError(missing, /apiKey/);
    expect(missing.stderr).not.toContain(apiKey);
  });

  it('call prints the field errors, takes the full /v2.01/{ClientId}/ path and explains any other', async () => {
    const env = clientEnv();
    const refused = await runCli(['call', 'PUT', 'clients', '--data', '{"TechEmails":"x"}'], env);
    expectOneLineError(
      refused,
      /^portcullis: API error 400 param_error: .* \(TechEmails: TechEmails must be /,
    );
    const full = await runCli(['call', 'GET', '/v2.01/served/clients'], env);
    expect(full.code).toBe(0);
    expect(JSON.parse(full.stdout)).toMatchObject({ ClientId: 'served' });
    const other = await runCli(['call', 'GET', '/v2.01/other/clients'], env);
    expectOneLineError(
      other,
      /outside \/v2\.01\/served\/, the API of --client-id served: give the path under it/,
    );
  });

  it('token names an untrusted certificate and the flag that trusts it', async () => {
    const elsewhere = tempDataDir();
    const env = clientEnv(); // --data-dir wins over its PORTCULLIS_DATA_DIR
    try {
      const untrusted = await runCli(['token', '--data-dir', elsewhere], env);
      expectOneLineError(
        untrusted,
        /^portcullis: network error: the server's certificate is not trusted \(self-signed certificate\): give the server's certificate with --ca-file FILE/,
      );
      const trusted = await runCli(
        ['token', '--data-dir', elsewhere, '--ca-file', join(dataDir, 'tls-cert.pem')],
        env,
      );
      expect(trusted.code).toBe(0);
      const notPem = join(elsewhere, 'not-a-certificate');
      writeFileSync(notPem, 'hello\n');
      expectOneLineError(
        await runCli(['token', '--data-dir', elsewhere, '--ca-file', notPem], env),
        /^portcullis: --ca-file .*not-a-certificate holds no PEM certificate/,
      );
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('answers plain HTTP with 400 https_required without authenticating the request', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, '127.0.0.1', () => {
        socket.write(
          `GET /v2.01/served/clients HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicHeader('served', apiKey)}\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/connection: close/i);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(body).toMatchObject({ Type: 'https_required', errors: null });
    expect(body.Message).toMatch(/HTTPS is required/);
    expect(server.output()).not.toContain(apiKey);
  });

  it('survives a restart: SIGTERM exits 0, and clients, keys, tokens and certificate remain', async () => {
    const bearer = `Bearer ${await token(apiKey)}`;
    const fingerprint = /SHA-256 (\S+)/.exec(server.output())?.[1];
    expect(await server.stop('SIGTERM')).toBe(0);
    server = await spawnServer(serveArgs());
    expect(server.output()).toContain(`SHA-256 ${fingerprint}`);
    expect(server.output()).not.toContain('created this self-signed certificate');
    expect((await get('/v2.01/served/clients', bearer)).status).toBe(200);
    expect((await get('/v2.01/served/clients', basicHeader('served', apiKey))).status).toBe(200);
  });

  it('drains a request in flight on SIGTERM, then exits 0', async () => {
    const body = JSON.stringify({ PlatformDescription: 'drained' });
    const socket = tls.connect({
      port: server.port,
      host: '127.0.0.1',
      ca: readFileSync(join(dataDir, 'tls-cert.pem')),
    });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const ended = new Promise((resolve) => socket.once('close', resolve));
    // Headers and half of the body now; the other half after the signal.
    socket.write(
      `PUT /v2.01/served/clients HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicHeader('served', apiKey)}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const exitCode = server.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.write(body.slice(10));
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('"PlatformDescription":"drained"');
    expect(await exitCode).toBe(0);
    server = await spawnServer(serveArgs());
  });
});
