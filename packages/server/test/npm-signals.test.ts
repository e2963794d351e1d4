import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDataDir } from './helpers/harness.js';
import { descendants, expectStopsOnSignalToNpm, startAndWaitForListening } from './helpers/processes.js';

/**
 * Docker, systemd and Procfile hosts that run `npm start` send SIGTERM to the npm process, not to the
 * server: npm forwards it to its child, which must be the server itself (no shell in between that would
 * take the signal and leave the server running).
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const groups: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  // A test that failed may have left the server running: end the group it started.
  for (const group of groups.splice(0)) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe.each(['SIGTERM', 'SIGINT'] as const)('npm start, then %s to the npm process', (signal) => {
  it('stops the server gracefully: npm runs it without a shell in between, every process ends, the port is free', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const started = await startAndWaitForListening('npm', ['start'], {
      cwd: ROOT,
      env: { PORTCULLIS_DATA_DIR: dataDir, PORTCULLIS_PORT: '0', PORTCULLIS_WORKERS: '2' },
    });
    groups.push(started.child.pid as number);
    const [server] = await descendants(started.child.pid as number);
    expect(server?.args).toMatch(/^node packages\/server\/dist\/cli\/main\.js serve --demo-client$/);
    await expectStopsOnSignalToNpm(started, signal);
  });
});
