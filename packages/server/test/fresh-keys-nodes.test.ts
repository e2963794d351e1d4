import { rmSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFlags, createSharedBackend, type SharedBackend } from './helpers/backends.js';
import { runCli, type ServerProcess, spawnServer } from './helpers/cli.js';
import {
  basicHeader,
  httpsRequest,
  type TestRequest,
  type TestResponse,
  tempDataDir,
  tokenRequest,
} from './helpers/harness.js';

/**
 * Two nodes on one PostgreSQL schema and one Redis prefix (the second with two workers), and a script
 * that creates keys and clients with the CLI and uses them at once on every node: nothing waits for the
 * change feed. Every call goes on a new connection.
 */
let backend: SharedBackend;
let dataDir: string;
let nodes: ServerProcess[];

const shared = () => clusterFlags(dataDir, backend);

/**
 * The CLI without `--cache`, as on an operator's machine that reaches only the store: nodes hear of its
 * writes at their next read of the feed (with the Redis announcement they usually hear first, which
 * would hide what this file tests).
 */
async function cli(...args: string[]): Promise<{ apiKey: string }> {
  const result = await runCli([...args, '--json', '--data-dir', dataDir, '--store', backend.store]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

function onNewConnection(node: ServerProcess, request: TestRequest): Promise<TestResponse> {
  return httpsRequest(node.port, new https.Agent({ rejectUnauthorized: false }), request);
}

function getClient(node: ServerProcess, clientId: string, authorization: string): Promise<TestResponse> {
  return onNewConnection(node, { path: `/v2.01/${clientId}/clients`, headers: { authorization } });
}

async function tokenFrom(node: ServerProcess, clientId: string, apiKey: string): Promise<string> {
  const response = await onNewConnection(node, tokenRequest(basicHeader(clientId, apiKey)));
  expect(response.status, response.text).toBe(200);
  return response.json<{ access_token: string }>().access_token;
}

beforeAll(async () => {
  backend = await createSharedBackend();
  dataDir = tempDataDir();
  await cli('clients', 'create', 'deployer');
  const serve = (workers: number) => [...shared(), '--workers', String(workers)];
  nodes = await Promise.all([spawnServer(serve(1)), spawnServer(serve(2))]);
}, 60_000);

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
  await backend.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('two nodes on one PostgreSQL and one Redis', () => {
  it('a key created by the CLI works at once on every node and worker, with Basic and its token', async () => {
    const first = await cli('keys', 'create', 'deployer');
    // The client is in memory on every process now, without the keys to come.
    for (const node of nodes) {
      for (let i = 0; i < 2; i++) {
        expect((await getClient(node, 'deployer', basicHeader('deployer', first.apiKey))).status).toBe(200);
      }
    }
    for (let round = 0; round < 4; round++) {
      const created = await cli('keys', 'create', 'deployer');
      const basic = basicHeader('deployer', created.apiKey);
      // The node that did not mint the token sees its key id for the first time.
      const minter = nodes[round % 2] as ServerProcess;
      const other = nodes[(round + 1) % 2] as ServerProcess;
      expect((await getClient(other, 'deployer', basic)).status, `round ${round}`).toBe(200);
      const bearer = `Bearer ${await tokenFrom(minter, 'deployer', created.apiKey)}`;
      for (let i = 0; i < 2; i++) {
        expect((await getClient(other, 'deployer', bearer)).status, `round ${round}`).toBe(200);
      }
    }
  });

  it('a client created by the CLI works at once on every node', async () => {
    for (let round = 0; round < 3; round++) {
      const clientId = `arrival-${round}`;
      const created = await cli('clients', 'create', clientId);
      const basic = basicHeader(clientId, created.apiKey);
      for (const node of nodes) expect((await getClient(node, clientId, basic)).status).toBe(200);
    }
  });
});
