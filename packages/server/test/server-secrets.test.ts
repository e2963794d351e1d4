import { chmodSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, spawnServer } from './helpers/cli.js';
import { basicHeader, httpsRequest, tempDataDir, tokenRequest } from './helpers/harness.js';

/**
 * Server secrets on one machine, as the CLI and `serve` show them: making one, giving them by the
 * environment or a file instead of the data directory's, and what a bad one gets. Clusters and rotation:
 * server-secrets-nodes.test.ts.
 */
const dirs: string[] = [];
const agent = new https.Agent({ rejectUnauthorized: false });

function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function generate(): Promise<string> {
  const result = await runCli(['secret', 'generate']);
  expect(result.code).toBe(0);
  return result.stdout.trim();
}

function expectOneLineRefusal(result: CliResult, ...patterns: RegExp[]): void {
  expect(result.code, result.stdout + result.stderr).not.toBe(0);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^portcullis: /);
  for (const pattern of patterns) expect(result.stderr).toMatch(pattern);
}

describe('portcullis secret generate', () => {
  it('prints one new 32-byte base64url secret and nothing else', async () => {
    const result = await runCli(['secret', 'generate']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(Buffer.from(result.stdout.trim(), 'base64url')).toHaveLength(32);
    expect(await generate()).not.toBe(result.stdout.trim());
  });
});

describe('secrets from the environment or a file', () => {
  it('serve and the CLI use PORTCULLIS_SECRETS, make no secret file, and agree over HTTPS', async () => {
    const dir = dataDir();
    const env = { PORTCULLIS_SECRETS: `${await generate()}, ${await generate()}` };
    const created = await runCli(['clients', 'create', 'acme', '--json', '--data-dir', dir], env);
    expect(created.code, created.stderr).toBe(0);
    const { apiKey } = JSON.parse(created.stdout) as { apiKey: string };
    const server = await spawnServer(['--data-dir', dir, '--workers', '1'], env);
    try {
      const response = await httpsRequest(server.port, agent, tokenRequest(basicHeader('acme', apiKey)));
      expect(response.status, response.text).toBe(200);
      expect(server.output()).toMatch(
        /server secret [A-Za-z0-9_-]{16} \(from PORTCULLIS_SECRETS\); older, still accepted: [A-Za-z0-9_-]{16}/,
      );
      for (const secret of env.PORTCULLIS_SECRETS.split(', ')) expect(server.output()).not.toContain(secret);
    } finally {
      await server.stop('SIGTERM');
    }
    expect(existsSync(join(dir, 'server-secret'))).toBe(false);
  });

  it('--secrets-file takes one secret a line with comments, and must be private', async () => {
    const dir = dataDir();
    const file = join(dataDir(), 'secrets');
    writeFileSync(file, `# current\n${await generate()}\n\n# older\n${await generate()}\n`, { mode: 0o600 });
    const args = ['clients', 'create', 'acme', '--data-dir', dir, '--secrets-file', file];
    expect((await runCli(args)).code).toBe(0);
    expect(existsSync(join(dir, 'server-secret'))).toBe(false);
    chmodSync(file, 0o644);
    expectOneLineRefusal(
      await runCli(['keys', 'create', 'acme', '--data-dir', dir, '--secrets-file', file]),
      /chmod 600/,
    );
  });

  it.each([
    ['too short', 'c2hvcnQ', /PORTCULLIS_SECRETS.*secret 1 is not at least 32 bytes of base64url/],
    ['not base64url', `${'A'.repeat(43)}=`, /PORTCULLIS_SECRETS.*secret 1 is not at least 32 bytes/],
    ['empty entry', `${'A'.repeat(43)},`, /PORTCULLIS_SECRETS.*secret 2 is not at least 32 bytes/],
    [
      'more than four',
      Array(5).fill('A'.repeat(43)).join(','),
      /PORTCULLIS_SECRETS.*holds 5 secrets; at most 4/,
    ],
  ])('refuses PORTCULLIS_SECRETS %s in one line that never echoes it', async (_what, value, pattern) => {
    const dir = dataDir();
    for (const command of [
      ['clients', 'create', 'acme'],
      ['serve', '--port', '0', '--workers', '1'],
    ]) {
      const result = await runCli([...command, '--data-dir', dir], { PORTCULLIS_SECRETS: value });
      expectOneLineRefusal(result, pattern);
      expect(result.stderr).not.toContain(value);
    }
  });

  it("refuses a secret other than the store's, naming both fingerprints, and keeps the data directory's", async () => {
    const dir = dataDir();
    expect((await runCli(['clients', 'create', 'acme', '--data-dir', dir])).code).toBe(0);
    const result = await runCli(['keys', 'create', 'acme', '--data-dir', dir], {
      PORTCULLIS_SECRETS: await generate(),
    });
    expectOneLineRefusal(
      result,
      /the server secret does not match this store: this process's is [A-Za-z0-9_-]{16} \(from PORTCULLIS_SECRETS\), the store's is [A-Za-z0-9_-]{16}; give this process the cluster's secrets/,
    );
    expect((await runCli(['keys', 'create', 'acme', '--data-dir', dir])).code).toBe(0);
  });
});
