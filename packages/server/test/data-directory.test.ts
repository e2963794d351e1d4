import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_FILE } from '../src/store/sqlite-store.js';
import { CLI, runCli, spawnServer } from './helpers/cli.js';
import { tempDataDir } from './helpers/harness.js';

/**
 * The data directory holds the store, the server secret and the TLS key; another local user must not be
 * able to read or replace them, whatever the umask or the state the directory was found in.
 */
const run = promisify(execFile);
const NOBODY = 65534;
const dirs: string[] = [];

function freshParent(): string {
  const parent = tempDataDir();
  dirs.push(parent);
  return parent;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** `clients create` under a shell with the given umask, as an operator's session would run it. */
async function createClientWithUmask(dataDir: string, umask: string) {
  return run('sh', [
    '-c',
    `umask ${umask}; exec "${process.execPath}" "${CLI}" clients create acme --data-dir "${dataDir}" --json`,
  ]);
}

function expectOneLineRefusal(result: { code: number; stderr: string }, ...parts: string[]): void {
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  for (const part of parts) expect(lines[0]).toContain(part);
}

describe('the data directory and its files', () => {
  it('are private even under umask 000: directory 0700, store, secret and TLS key 0600', async () => {
    const dataDir = join(freshParent(), 'data');
    await createClientWithUmask(dataDir, '000');
    const server = await spawnServer(['--data-dir', dataDir, '--workers', '1']);
    await server.stop('SIGTERM');
    expect(mode(dataDir)).toBe('700');
    const files = readdirSync(dataDir);
    expect(files).toEqual(
      expect.arrayContaining([SQLITE_FILE, 'server-secret', 'tls-key.pem', 'tls-cert.pem']),
    );
    for (const file of files) {
      // The certificate is public; everything else holds the store or a secret.
      expect([file, mode(join(dataDir, file))]).toEqual([file, file === 'tls-cert.pem' ? '644' : '600']);
    }
  });

  it('refuses an existing directory that others may enter, with one line, and writes nothing in it', async () => {
    const dataDir = join(freshParent(), 'shared');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const result = await runCli(['clients', 'create', 'acme', '--data-dir', dataDir]);
    expectOneLineRefusal(result, dataDir, '0755', `chmod 700 ${dataDir}`);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a directory that belongs to another user', async () => {
    const dataDir = join(freshParent(), 'theirs');
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, NOBODY, NOBODY);
    expectOneLineRefusal(await runCli(['clients', 'list', '--data-dir', dataDir]), dataDir, `uid ${NOBODY}`);
  });

  it('refuses a server secret that others may read, or that belongs to another user', async () => {
    const dataDir = join(freshParent(), 'data');
    await createClientWithUmask(dataDir, '077');
    const secret = join(dataDir, 'server-secret');
    chmodSync(secret, 0o644);
    expectOneLineRefusal(
      await runCli(['keys', 'create', 'acme', '--data-dir', dataDir]),
      secret,
      'chmod 600',
    );
    chmodSync(secret, 0o600);
    chownSync(secret, NOBODY, NOBODY);
    expectOneLineRefusal(
      await runCli(['keys', 'create', 'acme', '--data-dir', dataDir]),
      secret,
      `uid ${NOBODY}`,
    );
  });

  it('refuses to serve with a TLS key that others may read', async () => {
    const dataDir = join(freshParent(), 'data');
    await createClientWithUmask(dataDir, '077');
    const first = await spawnServer(['--data-dir', dataDir, '--workers', '1']);
    await first.stop('SIGTERM');
    chmodSync(join(dataDir, 'tls-key.pem'), 0o640);
    const result = await runCli(['serve', '--port', '0', '--data-dir', dataDir, '--workers', '1']);
    expectOneLineRefusal(result, 'tls-key.pem', 'chmod 600');
  });

  it('tightens store files that an older version or a loose umask left readable', async () => {
    const dataDir = join(freshParent(), 'data');
    await createClientWithUmask(dataDir, '077');
    chmodSync(join(dataDir, SQLITE_FILE), 0o644);
    const result = await runCli(['clients', 'list', '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    expect(mode(join(dataDir, SQLITE_FILE))).toBe('600');
  });
});
