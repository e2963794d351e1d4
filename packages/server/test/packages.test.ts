import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from './helpers/harness.js';
import {
  expectStopsOnSignalToNpm,
  outsideNpm,
  type Started,
  startAndWaitForListening,
} from './helpers/processes.js';

/**
 * What a user of the published packages gets: `npm pack` of the server and the SDK, both tarballs installed
 * into an empty folder, and there, verbatim, `npx portcullis serve`, every CLI command, and the SDK README's
 * example (read from the README, so that it stays the one tested).
 */
const run = promisify(execFile);
const PACKAGES = fileURLToPath(new URL('../..', import.meta.url));
const INSTALL = ['--prefer-offline', '--no-audit', '--no-fund'];

interface Packed {
  readonly filename: string;
  readonly files: readonly { readonly path: string }[];
}

async function pack(name: string, destination: string): Promise<Packed> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: join(PACKAGES, name),
    env: outsideNpm(process.env),
  });
  return (JSON.parse(stdout) as Packed[])[0] as Packed;
}

/**
 * Installing compiles better-sqlite3 (minutes on two busy cores), which depends on the server's
 * dependencies and on Node.js, not on Portcullis's own code. The dependency tree of a first install is
 * kept under a key of those; later runs start from a copy of it, so that npm installs just the two
 * tarballs. A first install, in CI as anywhere, starts from an empty folder.
 */
function dependencyCache(): string {
  const { dependencies } = JSON.parse(readFileSync(join(PACKAGES, 'server', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const key = createHash('sha256')
    .update(JSON.stringify([process.version, process.platform, process.arch, dependencies]))
    .digest('hex')
    .slice(0, 16);
  return join(tmpdir(), 'portcullis-package-test', key);
}

const work = mkdtempSync(join(tmpdir(), 'portcullis-packages-'));
const app = join(work, 'app');
let server: Packed;
let sdk: Packed;
let started: Started | undefined;
let apiKey = '';

beforeAll(async () => {
  [server, sdk] = await Promise.all([pack('server', work), pack('sdk', work)]);
  cpSync(join(work, server.filename), join(app, server.filename));
  cpSync(join(work, sdk.filename), join(app, sdk.filename));
  const cache = dependencyCache();
  const cached = existsSync(cache);
  if (cached) cpSync(cache, join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  const began = performance.now();
  await run('npm', ['install', ...INSTALL, `./${server.filename}`, `./${sdk.filename}`], {
    cwd: app,
    env: outsideNpm(process.env),
  });
  process.stderr.write(
    `packages.test: npm install took ${Math.round((performance.now() - began) / 1000)} s (${cached ? 'from the cached dependency tree' : 'from an empty folder'})\n`,
  );
  if (!cached) {
    const partial = `${cache}.${process.pid}`;
    cpSync(join(app, 'node_modules'), partial, {
      recursive: true,
      verbatimSymlinks: true,
      // The dependencies alone: not the two packages under test, nor npm's record of them.
      filter: (source) =>
        !source.includes(join('node_modules', '@portcullis')) && !source.endsWith('.package-lock.json'),
    });
    rmSync(cache, { recursive: true, force: true });
    renameSync(partial, cache);
  }
}, 600_000);

afterAll(async () => {
  // A test that failed may have left the server running: end the process group npx started.
  try {
    if (started !== undefined) process.kill(-(started.child.pid as number), 'SIGKILL');
  } catch {
    // already gone
  }
  rmSync(work, { recursive: true, force: true });
});

/** `npx portcullis …` in the installed folder, with the running server's address. */
async function npx(...args: string[]): Promise<string> {
  const { stdout } = await run('npx', ['portcullis', ...args], {
    cwd: app,
    env: {
      ...outsideNpm(process.env),
      PORTCULLIS_BASE_URL: `https://127.0.0.1:${started?.port}`,
      PORTCULLIS_CLIENT_ID: 'demo',
      PORTCULLIS_API_KEY: apiKey,
    },
  });
  return stdout;
}

describe('the packed packages, installed into an empty folder', () => {
  it('hold the built code, its sources for the source maps, the dashboard, the README and package.json; no tests, no build state', () => {
    for (const { files } of [server, sdk]) {
      const paths = files.map((file) => file.path);
      for (const path of paths)
        expect(path).toMatch(/^(bin\/|dashboard\/|dist\/|src\/|package\.json$|README\.md$)/);
      expect(paths.filter((path) => /test|tsbuildinfo/.test(path))).toEqual([]);
      for (const map of paths.filter((path) => path.endsWith('.map'))) {
        expect(paths).toContain(map.replace(/^dist\//, 'src/').replace(/\.(d\.ts|js)\.map$/, '.ts'));
      }
    }
    expect(sdk.files.map((file) => file.path)).toContain('README.md');
    expect(server.files.map((file) => file.path)).toContain('bin/portcullis.js');
    // The dashboard ships built: its page and hashed assets, which the admin listener serves.
    const dashboard = server.files.map((file) => file.path).filter((path) => path.startsWith('dashboard/'));
    expect(dashboard).toContain('dashboard/index.html');
    expect(dashboard.filter((path) => /^dashboard\/assets\/[\w-]+\.js$/.test(path))).not.toEqual([]);
    expect(dashboard.filter((path) => /^dashboard\/assets\/[\w-]+\.css$/.test(path))).not.toEqual([]);
    expect(sdk.files.map((file) => file.path).filter((path) => path.startsWith('dashboard/'))).toEqual([]);
  });

  it('npx portcullis --version', async () => {
    const { version } = JSON.parse(readFileSync(join(PACKAGES, 'server', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect((await npx('--version')).trim()).toBe(version);
  });

  it('npx portcullis serve --demo-client listens and prints how to call the demo client', async () => {
    started = await startAndWaitForListening('npx', ['portcullis', 'serve', '--demo-client'], {
      cwd: app,
      env: { PORTCULLIS_PORT: '0' },
    });
    const demoLine = /ClientId: demo {2}API key: (pcl_sandbox_\w+)\n/;
    const output = (started as Started).output;
    await waitUntil(async () => demoLine.test(output()), 10_000);
    const key = demoLine.exec(output());
    expect(key).not.toBeNull();
    apiKey = key?.[1] as string;
    expect(started.output()).toContain(`curl --cacert .portcullis/tls-cert.pem -u 'demo:${apiKey}'`);
  });

  it('every CLI command works against it', async () => {
    const created = JSON.parse(await npx('clients', 'create', 'acme', '--name', 'Acme', '--json'));
    expect(created).toMatchObject({ clientId: 'acme' });
    expect(await npx('clients', 'list')).toMatch(/acme[\s\S]*demo|demo[\s\S]*acme/);
    await npx('clients', 'update', 'acme', '--name', 'Acme Ltd');
    expect(await npx('clients', 'show', 'acme')).toContain('Acme Ltd');
    await npx('clients', 'disable', 'acme');
    await npx('clients', 'enable', 'acme');
    const key = JSON.parse(await npx('keys', 'create', 'acme', '--alias', 'ci', '--json'));
    expect(await npx('keys', 'list', 'acme')).toContain(key.keyId);
    const rotated = JSON.parse(
      await npx('keys', 'rotate', 'acme', key.keyId, '--grace-hours', '0', '--json'),
    );
    await npx('keys', 'revoke', 'acme', rotated.keyId);
    expect(JSON.parse(await npx('introspectors', 'create', 'gateway', '--json'))).toHaveProperty('apiKey');
    expect(await npx('introspectors', 'list')).toContain('gateway');
    await npx('introspectors', 'revoke', 'gateway');
    expect(await npx('audit', '--client', 'acme')).toContain('acme');
    await npx('migrate');
    expect((await npx('token')).trim()).toMatch(/^\S{20,}$/);
    expect(JSON.parse(await npx('call', 'GET', 'clients'))).toMatchObject({ ClientId: 'demo' });
  });

  it("runs the SDK README's example, trusting the server's certificate through the ca option", async () => {
    const readme = readFileSync(join(PACKAGES, 'sdk', 'README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain("ca: readFileSync('.portcullis/tls-cert.pem', 'utf8')");
    writeFileSync(join(app, 'example.mjs'), example as string);
    // Only the ca option trusts the certificate: not the test workers' NODE_EXTRA_CA_CERTS.
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    const { stdout } = await run(process.execPath, ['example.mjs'], {
      cwd: app,
      env: {
        ...env,
        PORTCULLIS_BASE_URL: `https://127.0.0.1:${started?.port}`,
        PORTCULLIS_CLIENT_ID: 'demo',
        PORTCULLIS_API_KEY: apiKey,
      },
    });
    expect(stdout.trim()).toBe('demo: Demo client');
  });

  it('SIGTERM to the npx process stops the server gracefully', async () => {
    await expectStopsOnSignalToNpm(started as Started, 'SIGTERM');
  });
});
