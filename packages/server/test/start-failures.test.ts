import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateServerSecret } from '../src/keys/server-secret.js';
import {
  clusterFlags,
  createSharedBackend,
  PG_URL,
  type SharedBackend,
  servicesReachable,
} from './helpers/backends.js';
import { CLI, spawnServer } from './helpers/cli.js';
import { tempDataDir } from './helpers/harness.js';
import { processesMentioning, runToEnd } from './helpers/processes.js';

/**
 * A `serve` that cannot start says why in one line, once (not once per worker), exits non-zero within a
 * few seconds, and leaves no process behind: not one holding a database pool or a Redis connection open,
 * not a primary waiting for workers that never listen.
 */
const WITH_SERVICES = process.env.CI === 'true' || (await servicesReachable()).ok;

let parent: string;
let blocker: net.Server;
let busyPort: number;
let backend: SharedBackend | undefined;

beforeAll(async () => {
  parent = tempDataDir();
  writeFileSync(join(parent, 'a-file'), '');
  writeFileSync(join(parent, 'not-pem'), 'not a certificate\n');
  blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  busyPort = (blocker.address() as net.AddressInfo).port;
  if (WITH_SERVICES) backend = await createSharedBackend();
});
afterAll(async () => {
  await new Promise((resolve) => blocker.close(resolve));
  await backend?.drop();
  rmSync(parent, { recursive: true, force: true });
});

interface Case {
  readonly name: string;
  readonly services?: boolean;
  /** serve's flags, given a data directory of the run's own. */
  readonly args: (dataDir: string) => string[];
  readonly line: RegExp;
}

const pg = () => clusterFlags('', backend as SharedBackend).slice(2);
/**
 * The cluster's secret, for every run on the shared store: each run has a data directory of its own, and
 * without it the first run's new secret would be the store's, and every later run refused for that alone.
 */
const CLUSTER_SECRETS = { PORTCULLIS_SECRETS: generateServerSecret() };
const notPem = () => join(parent, 'not-pem');

const CASES: readonly Case[] = [
  { name: 'port in use', args: () => ['--port', String(busyPort)], line: /EADDRINUSE.*127\.0\.0\.1:\d+$/ },
  {
    name: 'port in use, on PostgreSQL and Redis',
    services: true,
    args: () => ['--port', String(busyPort), ...pg()],
    line: /EADDRINUSE.*127\.0\.0\.1:\d+$/,
  },
  {
    name: 'PostgreSQL unreachable',
    services: true,
    args: () => ['--store', 'postgres://postgres@127.0.0.1:1/x'],
    line: /ECONNREFUSED 127\.0\.0\.1:1$/,
  },
  {
    name: 'PostgreSQL URL naming a database that does not exist',
    services: true,
    args: () => ['--store', `${new URL('/portcullis_no_such_database', PG_URL)}`],
    line: /database "portcullis_no_such_database" does not exist$/,
  },
  {
    name: 'a data directory that cannot be made (under a file)',
    args: (dataDir) => ['--data-dir', join(dataDir, '..', 'a-file', 'data')],
    line: /^portcullis: cannot create the data directory .*a-file\/data: ENOTDIR/,
  },
  {
    name: 'a data directory that cannot be made (under /proc), with PostgreSQL',
    services: true,
    args: () => ['--data-dir', '/proc/portcullis/data', ...pg()],
    line: /^portcullis: cannot create the data directory \/proc\/portcullis\/data: ENOENT/,
  },
  {
    name: 'a TLS certificate that is not PEM',
    args: () => ['--tls-cert', notPem(), '--tls-key', notPem()],
    line: /PEM/,
  },
  {
    name: 'a TLS certificate that is not PEM, with PostgreSQL and Redis',
    services: true,
    args: () => ['--tls-cert', notPem(), '--tls-key', notPem(), ...pg()],
    line: /PEM/,
  },
];

describe.each([1, 2])('serve --workers %i that cannot start', (workers) => {
  for (const { name, services, args, line } of CASES) {
    it.skipIf(services === true && !WITH_SERVICES)(name, async () => {
      const dataDir = join(parent, `run-${workers}-${name.replace(/\W+/g, '-')}`);
      const run = await runToEnd(
        process.execPath,
        [CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--workers', String(workers), ...args(dataDir)],
        { deadlineMs: 15_000, env: CLUSTER_SECRETS },
      );
      expect(run.hung).toBe(false);
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^portcullis: /);
      expect(lines[0]).toMatch(line);
      expect(run.ms).toBeLessThan(10_000);
      expect(await processesMentioning(dataDir)).toEqual([]);
    });
  }
});

describe.skipIf(!WITH_SERVICES)('serve --store postgres://…', () => {
  it('creates the data directory, mode 0700, for the certificate', async () => {
    const dataDir = join(parent, 'new', 'data');
    mkdirSync(join(parent, 'new'));
    const server = await spawnServer(
      ['--workers', '1', ...clusterFlags(dataDir, backend as SharedBackend)],
      CLUSTER_SECRETS,
    );
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'tls-cert.pem')).isFile()).toBe(true);
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
