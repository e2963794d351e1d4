import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, runCli, spawnServer } from './helpers/cli.js';
import { basicHeader, httpsRequest, tempDataDir, waitUntil } from './helpers/harness.js';

/**
 * `serve --demo-client` shows the demo API key once. Standard output also carries the JSON logs, which
 * log collectors keep, so the key goes there only when it is a terminal.
 */
const run = promisify(execFile);
const KEY_LINE = /API key: (pcl_sandbox_\w+)/;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}

describe('the demo API key', () => {
  it('goes to standard error under a warning, never to standard output, when standard output is not a terminal', async () => {
    const directory = dataDir();
    const server = await spawnServer(['--data-dir', directory, '--workers', '1', '--demo-client']);
    try {
      await waitUntil(async () => KEY_LINE.test(server.errorOutput()), 5000);
      const apiKey = KEY_LINE.exec(server.errorOutput())?.[1] as string;
      expect(server.errorOutput()).toMatch(/^portcullis: warning: standard output is not a terminal/);
      // Every copy of the key that the process printed is on standard error.
      const copies = (text: string) => text.split(apiKey).length - 1;
      expect(copies(server.output())).toBe(copies(server.errorOutput()));
      const agent = new https.Agent({ ca: readFileSync(join(directory, 'tls-cert.pem')) });
      const response = await httpsRequest(server.port, agent, {
        path: '/v2.01/demo/clients',
        headers: { authorization: basicHeader('demo', apiKey) },
      });
      agent.destroy();
      expect(response.status).toBe(200);
    } finally {
      await server.stop('SIGTERM');
    }
  });

  it('goes to standard output, without the warning, when that is a terminal', async () => {
    // script(1) gives the server a terminal; standard error is thrown away, so what is seen came on stdout.
    const command = `timeout -s INT 3 "${process.execPath}" "${CLI}" serve --port 0 --workers 1 --demo-client --data-dir "${dataDir()}" 2>/dev/null`;
    const { stdout } = await run('script', ['-qec', command, '/dev/null']).catch((error) => error);
    expect(stdout).toMatch(KEY_LINE);
    expect(stdout).not.toContain('warning');
  });

  it('is not made again once deleted: the server starts, and the ClientId stays unused', async () => {
    const directory = dataDir();
    const first = await spawnServer(['--data-dir', directory, '--workers', '1', '--demo-client']);
    await waitUntil(async () => KEY_LINE.test(first.errorOutput()), 5000);
    await first.stop('SIGTERM');
    const deleted = await runCli(['clients', 'delete', 'demo', '--data-dir', directory]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const second = await spawnServer(['--data-dir', directory, '--workers', '1', '--demo-client']);
    try {
      const agent = new https.Agent({ ca: readFileSync(join(directory, 'tls-cert.pem')) });
      const response = await httpsRequest(second.port, agent, { path: '/v2.01/demo/clients' });
      agent.destroy();
      expect(response.status).toBe(401);
      expect(second.errorOutput()).not.toMatch(KEY_LINE);
    } finally {
      await second.stop('SIGTERM');
    }
  });
});
