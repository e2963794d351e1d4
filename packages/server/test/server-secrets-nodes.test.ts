import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFlags, createSharedBackend, type SharedBackend } from './helpers/backends.js';
import { CLI, type CliResult, runCli, type ServerProcess, spawnServer } from './helpers/cli.js';
import {
  basicHeader,
  httpsRequest,
  type TestResponse,
  tempDataDir,
  tokenRequest,
} from './helpers/harness.js';

/**
 * Server secrets as an operator of a cluster meets them: nodes and operator machines, each with its own
 * data directory (so nothing is shared by a file), on one PostgreSQL schema and Redis prefix, given their
 * secrets by the environment as a secret manager would.
 */
const agent = new https.Agent({ rejectUnauthorized: false });
const dirs: string[] = [];
const backends: SharedBackend[] = [];
const running: ServerProcess[] = [];

/** A new machine: a data directory of its own. */
function machine(): string {
  const dir = tempDataDir();
  dirs.push(dir);
  return dir;
}

async function newSecret(): Promise<string> {
  const result = await runCli(['secret', 'generate']);
  expect(result.code).toBe(0);
  return result.stdout.trim();
}

const withSecrets = (...secrets: string[]) => ({ PORTCULLIS_SECRETS: secrets.join(',') });

async function node(dir: string, backend: SharedBackend, env: NodeJS.ProcessEnv, ...more: string[]) {
  const started = await spawnServer([...clusterFlags(dir, backend), ...more], env);
  running.push(started);
  return started;
}

async function stop(server: ServerProcess): Promise<void> {
  running.splice(running.indexOf(server), 1);
  expect(await server.stop('SIGTERM')).toBe(0);
}

/**
 * `serve` expected to refuse: it must exit by itself (killed after 20 s if it listens instead). With one
 * worker the server refuses itself; with more, the primary does before forking.
 */
function refusedServe(
  dir: string,
  backend: SharedBackend,
  env: NodeJS.ProcessEnv,
  workers = 2,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, 'serve', '--port', '0', '--workers', String(workers), ...clusterFlags(dir, backend)],
      { env: { ...process.env, ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The CLI on an operator's machine: the store only (no cache), as in fresh-keys-nodes.test.ts. */
function cli(dir: string, backend: SharedBackend, env: NodeJS.ProcessEnv, ...args: string[]) {
  return runCli([...args, '--json', '--data-dir', dir, '--store', backend.store], env);
}

async function created(result: CliResult): Promise<string> {
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { apiKey: string }).apiKey;
}

function get(server: ServerProcess, clientId: string, authorization: string): Promise<TestResponse> {
  return httpsRequest(server.port, agent, { path: `/v2.01/${clientId}/clients`, headers: { authorization } });
}

/** RFC 7662 introspection of `token` by the introspector `name`; resolves with the status. */
async function introspect(
  server: ServerProcess,
  name: string,
  apiKey: string,
  token: string,
): Promise<number> {
  const request = tokenRequest(basicHeader(name, apiKey), `token=${token.slice('Bearer '.length)}`);
  const response = await httpsRequest(server.port, agent, { ...request, path: '/v2.01/oauth/introspect' });
  return response.status;
}

async function tokenFrom(server: ServerProcess, clientId: string, apiKey: string): Promise<string> {
  const response = await httpsRequest(server.port, agent, tokenRequest(basicHeader(clientId, apiKey)));
  expect(response.status, response.text).toBe(200);
  return `Bearer ${response.json<{ access_token: string }>().access_token}`;
}

/** One line on stderr, `portcullis: ` first, matching every pattern; nothing on stdout that listens. */
function expectOneLineRefusal(result: CliResult, ...patterns: RegExp[]): void {
  expect(result.code, result.stdout + result.stderr).not.toBe(0);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^portcullis: /);
  for (const pattern of patterns) expect(result.stderr).toMatch(pattern);
  expect(result.stdout).not.toMatch(/listening on/);
}

/** The fingerprint a process states on start. */
function fingerprintIn(output: string): string {
  const match = /server secret ([A-Za-z0-9_-]{16}) \(from PORTCULLIS_SECRETS\)/.exec(output);
  expect(match, output).not.toBeNull();
  return (match as RegExpExecArray)[1] as string;
}

async function sharedBackend(): Promise<SharedBackend> {
  const backend = await createSharedBackend();
  backends.push(backend);
  return backend;
}

afterAll(async () => {
  await Promise.all(running.map((server) => server.stop('SIGTERM')));
  await Promise.all(backends.map((backend) => backend.drop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a cluster given its secret by the environment', () => {
  let backend: SharedBackend;
  let secret: string;
  let nodes: ServerProcess[];

  beforeAll(async () => {
    backend = await sharedBackend();
    secret = await newSecret();
    nodes = await Promise.all([
      node(machine(), backend, withSecrets(secret)),
      node(machine(), backend, withSecrets(secret), '--workers', '2'),
    ]);
  }, 60_000);

  it("works with a key made on an operator's machine, on every node, and writes no secret file", async () => {
    const operator = machine();
    const apiKey = await created(
      await cli(operator, backend, withSecrets(secret), 'clients', 'create', 'fleet'),
    );
    const [first, second] = nodes as [ServerProcess, ServerProcess];
    for (const server of nodes)
      expect((await get(server, 'fleet', basicHeader('fleet', apiKey))).status).toBe(200);
    expect((await get(second, 'fleet', await tokenFrom(first, 'fleet', apiKey))).status).toBe(200);
    expect(fingerprintIn(first.output())).toBe(fingerprintIn(second.output()));
    for (const dir of dirs) expect(existsSync(join(dir, 'server-secret'))).toBe(false);
  });

  it('refuses a node and a CLI with another secret, in one line naming both fingerprints', async () => {
    const other = await newSecret();
    const expected = fingerprintIn((nodes[0] as ServerProcess).output());
    const mismatch = [
      /does not match this store/,
      new RegExp(expected),
      /PORTCULLIS_SECRETS or --secrets-file/,
    ];
    for (const workers of [1, 2]) {
      expectOneLineRefusal(await refusedServe(machine(), backend, withSecrets(other), workers), ...mismatch);
    }
    expectOneLineRefusal(
      await cli(machine(), backend, withSecrets(other), 'keys', 'create', 'fleet'),
      ...mismatch,
    );
  });

  it('refuses a node without a secret on a store that holds clients, and makes no secret file', async () => {
    for (const workers of [1, 2]) {
      const bare = machine();
      expectOneLineRefusal(
        await refusedServe(bare, backend, { PORTCULLIS_SECRETS: undefined }, workers),
        /no server secret, and this store already holds clients/,
      );
      expect(existsSync(join(bare, 'server-secret'))).toBe(false);
    }
  });
});

describe('rotating the secret', () => {
  it('keeps keys and tokens through [S2,S1], then drops S1: used keys work, unused ones and S1 do not', async () => {
    const backend = await sharedBackend();
    const [s1, s2] = [await newSecret(), await newSecret()];
    const [nodeDir, operator] = [machine(), machine()];

    let server = await node(nodeDir, backend, withSecrets(s1));
    const keyA = await created(await cli(operator, backend, withSecrets(s1), 'clients', 'create', 'rotor'));
    const keyB = await created(await cli(operator, backend, withSecrets(s1), 'keys', 'create', 'rotor'));
    const tokenB = await tokenFrom(server, 'rotor', keyB);
    const gate = await created(
      await cli(operator, backend, withSecrets(s1), 'introspectors', 'create', 'gate'),
    );
    await stop(server);

    // Phase 2 (docs/deployment.md): the new secret first, the old one still listed.
    server = await node(nodeDir, backend, withSecrets(s2, s1));
    expect(server.output()).toMatch(/server secret rotated: [A-Za-z0-9_-]{16} is current/);
    expect((await get(server, 'rotor', basicHeader('rotor', keyA))).status).toBe(200);
    expect((await get(server, 'rotor', tokenB)).status).toBe(200);
    expect(await introspect(server, 'gate', gate, tokenB)).toBe(200);
    // Keys the CLI makes now are hashed under S2, and the CLI agrees with the store.
    const keyC = await created(await cli(operator, backend, withSecrets(s2, s1), 'keys', 'create', 'rotor'));
    await stop(server); // flushes the re-hash of key A and of the introspector's key

    // Phase 3: S1 dropped.
    server = await node(nodeDir, backend, withSecrets(s2));
    expect((await get(server, 'rotor', basicHeader('rotor', keyA))).status).toBe(200);
    expect((await get(server, 'rotor', basicHeader('rotor', keyC))).status).toBe(200);
    expect((await get(server, 'rotor', basicHeader('rotor', keyB))).status).toBe(401);
    expect((await get(server, 'rotor', tokenB)).status).toBe(401);
    const tokenA = await tokenFrom(server, 'rotor', keyA);
    expect((await get(server, 'rotor', tokenA)).status).toBe(200);
    expect(await introspect(server, 'gate', gate, tokenA)).toBe(200);

    // S1 first again, by a machine that missed the rotation: refused, whatever follows it.
    const retired = [/was retired by rotation/, /put the new secret first/];
    expectOneLineRefusal(
      await cli(operator, backend, withSecrets(s1), 'keys', 'create', 'rotor'),
      ...retired,
    );
    expectOneLineRefusal(await refusedServe(machine(), backend, withSecrets(s1, s2)), ...retired);
    await stop(server);
  }, 90_000);
});
