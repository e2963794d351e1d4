import { rmSync } from 'node:fs';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFlags, createSharedBackend, type SharedBackend } from './helpers/backends.js';
import { runCli, type ServerProcess, spawnServer } from './helpers/cli.js';
import {
  basicHeader,
  httpsRequest,
  type TestResponse,
  tempDataDir,
  tokenRequest,
  waitUntil,
} from './helpers/harness.js';

/**
 * Three nodes on three ports (one of them with two workers), sharing one PostgreSQL schema and one Redis
 * prefix (and, as every node of a cluster must, the server secret: here the same data directory). The CLI
 * acts on the shared stores as an operator's would.
 */
let backend: SharedBackend;
let dataDir: string;
let nodes: ServerProcess[];
let apiKey: string;
let keyId: string;
const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });

const shared = () => clusterFlags(dataDir, backend);

const cli = (...args: string[]) => runCli([...args, ...shared()]);

function call(
  node: ServerProcess,
  authorization: string,
  path = '/v2.01/fleet/clients',
): Promise<TestResponse> {
  return httpsRequest(node.port, agent, { path, headers: { authorization } });
}

async function tokenFrom(node: ServerProcess, key = apiKey): Promise<string> {
  const response = await httpsRequest(node.port, agent, tokenRequest(basicHeader('fleet', key)));
  expect(response.status).toBe(200);
  return response.json<{ access_token: string }>().access_token;
}

/** RFC 7009 revocation of `token` by its client, on `node`. */
function revokeOn(node: ServerProcess, token: string): Promise<TestResponse> {
  return httpsRequest(node.port, agent, {
    method: 'POST',
    path: '/v2.01/oauth/revoke',
    headers: {
      authorization: basicHeader('fleet', apiKey),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `token=${token}`,
  });
}

beforeAll(async () => {
  backend = await createSharedBackend();
  dataDir = tempDataDir();
  const created = JSON.parse((await cli('clients', 'create', 'fleet', '--json')).stdout);
  apiKey = created.apiKey;
  keyId = created.keyId;
  const serve = (workers: number) => [
    ...shared(),
    '--workers',
    String(workers),
    '--failed-auth-limit-per-client',
    'off',
  ];
  // The middle node runs two workers: counters and changes then cross processes as well as nodes.
  nodes = await Promise.all([spawnServer(serve(1)), spawnServer(serve(2)), spawnServer(serve(1))]);
}, 60_000);

afterAll(async () => {
  agent.destroy();
  await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
  await backend.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('three nodes on one PostgreSQL and one Redis', () => {
  it('a token minted on one node is accepted on every node', async () => {
    const bearer = `Bearer ${await tokenFrom(nodes[0] as ServerProcess)}`;
    for (const node of nodes) expect((await call(node, bearer)).status).toBe(200);
  });

  it('a key revoked through the CLI is refused on every node within one second (measured)', async () => {
    const spare = JSON.parse((await cli('keys', 'create', 'fleet', '--json')).stdout);
    const bearer = `Bearer ${await tokenFrom(nodes[1] as ServerProcess, spare.apiKey)}`;
    const basic = basicHeader('fleet', spare.apiKey);
    // The new key itself reaches every node through the same feed.
    await waitUntil(
      async () => (await Promise.all(nodes.map((node) => call(node, bearer)))).every((a) => a.status === 200),
      1000,
    );
    const revoked = cli('keys', 'revoke', 'fleet', spare.keyId);
    const acknowledged = await revoked;
    expect(acknowledged.code).toBe(0);
    const started = Date.now();
    const perNode = await Promise.all(
      nodes.map((node) =>
        waitUntil(
          async () => (await call(node, bearer)).status === 401 && (await call(node, basic)).status === 401,
          1000,
          5,
        ),
      ),
    );
    const slowest = Math.max(...perNode);
    console.info(
      `multi-node: revocation refused on all 3 nodes ${slowest} ms after the CLI acknowledged it ` +
        `(per node: ${perNode.join(', ')} ms; total ${Date.now() - started} ms)`,
    );
    expect(slowest).toBeLessThan(1000);
  });

  it('a key and a client deleted through the CLI are refused on every node within one second (measured)', async () => {
    const created = JSON.parse((await cli('clients', 'create', 'departing', '--json')).stdout);
    const spare = JSON.parse((await cli('keys', 'create', 'departing', '--json')).stdout);
    const credentials = async (key: string) => {
      const response = await httpsRequest(
        (nodes[2] as ServerProcess).port,
        agent,
        tokenRequest(basicHeader('departing', key)),
      );
      expect(response.status).toBe(200);
      return [
        basicHeader('departing', key),
        `Bearer ${response.json<{ access_token: string }>().access_token}`,
      ];
    };
    const kept = await credentials(created.apiKey);
    const deleted = await credentials(spare.apiKey);
    const everywhere = (authorizations: string[], status: number) => async () =>
      (
        await Promise.all(
          nodes.flatMap((node) => authorizations.map((a) => call(node, a, '/v2.01/departing/clients'))),
        )
      ).every((answer) => answer.status === status);
    await waitUntil(everywhere([...kept, ...deleted], 200), 1000);

    expect((await cli('keys', 'delete', 'departing', spare.keyId)).code).toBe(0);
    const keyTook = await waitUntil(everywhere(deleted, 401), 1000, 5);
    expect(await everywhere(kept, 200)()).toBe(true);
    expect((await cli('clients', 'delete', 'departing')).code).toBe(0);
    const clientTook = await waitUntil(everywhere(kept, 401), 1000, 5);
    console.info(
      `multi-node: deleted key refused on all 3 nodes ${keyTook} ms, deleted client ${clientTook} ms after the CLI returned`,
    );
    expect(Math.max(keyTook, clientTook)).toBeLessThan(1000);
    const refused = await cli('clients', 'create', 'departing');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/belonged to a client deleted at .* and is never reused/);
  });

  it("a change through one node's admin API reaches the others as a CLI change does", async () => {
    const { token } = JSON.parse((await cli('admins', 'create', 'fleet-ops', '--json')).stdout);
    const admin = (node: ServerProcess, method: string, path: string, body?: string) =>
      httpsRequest(node.adminPort as number, agent, {
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body }),
      });
    const created = await admin(
      nodes[0] as ServerProcess,
      'POST',
      '/admin/v1/clients',
      '{"clientId":"by-api"}',
    );
    expect(created.status).toBe(201);
    const { keyId: newKeyId, apiKey: newKey } = created.json<{ key: { keyId: string; apiKey: string } }>()
      .key;
    const basic = basicHeader('by-api', newKey);
    // At once, on another node: an unknown key is looked up in the store.
    for (const node of nodes.slice(1))
      expect((await call(node, basic, '/v2.01/by-api/clients')).status).toBe(200);
    const revoked = await admin(
      nodes[0] as ServerProcess,
      'DELETE',
      `/admin/v1/clients/by-api/keys/${newKeyId}`,
    );
    expect(revoked.status).toBe(200);
    const perNode = await Promise.all(
      nodes.map((node) =>
        waitUntil(async () => (await call(node, basic, '/v2.01/by-api/clients')).status === 401, 1000, 5),
      ),
    );
    expect(Math.max(...perNode)).toBeLessThan(1000);
  });

  it('a dashboard session started on one node works on every node, and sign-out on another ends it everywhere', async () => {
    const { token } = JSON.parse(
      (await cli('admins', 'create', 'fleet-viewer', '--role', 'viewer', '--json')).stdout,
    );
    const onAdmin = (node: ServerProcess, request: Parameters<typeof httpsRequest>[2]) =>
      httpsRequest(node.adminPort as number, agent, request);
    const started = await onAdmin(nodes[0] as ServerProcess, {
      method: 'POST',
      path: '/admin/v1/session',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(started.status).toBe(201);
    const cookie = (started.headers['set-cookie']?.[0] ?? '').split(';', 1)[0] as string;
    const { csrfToken } = started.json<{ csrfToken: string }>();
    for (const node of nodes) {
      expect((await onAdmin(node, { path: '/admin/v1/clients', headers: { cookie } })).status).toBe(200);
    }
    const ended = await onAdmin(nodes[2] as ServerProcess, {
      method: 'DELETE',
      path: '/admin/v1/session',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    expect(ended.status).toBe(204);
    for (const node of nodes) {
      expect((await onAdmin(node, { path: '/admin/v1/clients', headers: { cookie } })).status).toBe(401);
    }
  });

  it('an admin token revoked through the CLI is refused on every node within the revocation bound, used or not', async () => {
    const { token } = JSON.parse((await cli('admins', 'create', 'fleet-leaver', '--json')).stdout);
    const list = (node: ServerProcess) =>
      httpsRequest(node.adminPort as number, agent, {
        path: '/admin/v1/clients',
        headers: { authorization: `Bearer ${token}` },
      });
    // Every node has it cached now.
    for (const node of nodes) expect((await list(node)).status).toBe(200);
    await cli('admins', 'revoke', 'fleet-leaver');
    const perNode = await Promise.all(
      nodes.map((node) => waitUntil(async () => (await list(node)).status === 401, 3000, 20)),
    );
    // Admin tokens are cached for the revocation bound: max(1 s, 4 change polls).
    expect(Math.max(...perNode)).toBeLessThan(1500);
  });

  it('a token revoked on one node (RFC 7009) is refused on the others within one second', async () => {
    const token = await tokenFrom(nodes[0] as ServerProcess);
    expect((await revokeOn(nodes[0] as ServerProcess, token)).status).toBe(200);
    for (const node of nodes.slice(1)) {
      expect(
        await waitUntil(async () => (await call(node, `Bearer ${token}`)).status === 401, 1000, 5),
      ).toBeLessThan(1000);
    }
  });

  it('rate limits are global: 6 calls per hour means 6, whichever node answers', async () => {
    const created = JSON.parse(
      (await cli('clients', 'create', 'metered', '--rate-limits', '6/1h', '--json')).stdout,
    );
    const basic = basicHeader('metered', created.apiKey);
    const path = '/v2.01/metered/clients';
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      statuses.push((await call(nodes[i % 3] as ServerProcess, basic, path)).status);
      // Spaced beyond the 20 ms in which a node may decide alone (docs/deployment.md).
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429]);
    const refused = await call(nodes[1] as ServerProcess, basic, path);
    expect(refused.json()).toMatchObject({ Type: 'rate_limit' });
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('the audit trail is one: counted events from every node land in it', async () => {
    const before = await auditCount();
    for (const node of nodes) await tokenFrom(node);
    // Counted events are written every 5 s by each node.
    await waitUntil(async () => (await auditCount()) >= before + 3, 12_000, 250);
  }, 20_000);

  it('survives one node being killed: the others keep serving, and its tokens still work there', async () => {
    const victim = nodes[2] as ServerProcess;
    const bearer = `Bearer ${await tokenFrom(victim)}`;
    expect(await victim.stop('SIGKILL')).toBeNull();
    for (const node of nodes.slice(0, 2)) expect((await call(node, bearer)).status).toBe(200);
    nodes[2] = await spawnServer([...shared(), '--workers', '1', '--failed-auth-limit-per-client', 'off']);
    expect((await call(nodes[2] as ServerProcess, bearer)).status).toBe(200);
    expect(keyId).toMatch(/^key_/);
  });
});

describe('a node killed in the middle of a burst of revocations', () => {
  it('loses none it acknowledged: every token it answered 200 for is refused on the other nodes', async () => {
    const victim = nodes[2] as ServerProcess;
    const tokens = await Promise.all(Array.from({ length: 40 }, () => tokenFrom(nodes[0] as ServerProcess)));
    const acknowledged: string[] = [];
    const burst = tokens.map(async (token, i) => {
      // Spread over a few milliseconds, so that the kill lands in the middle.
      await new Promise((resolve) => setTimeout(resolve, 3 * i));
      const answer = await revokeOn(victim, token).catch(() => undefined);
      if (answer?.status === 200) acknowledged.push(token);
    });
    await waitUntil(async () => acknowledged.length >= 10, 5000, 1);
    await victim.stop('SIGKILL');
    await Promise.all(burst);
    console.info(
      `multi-node: ${acknowledged.length} of ${tokens.length} revocations acknowledged before the kill`,
    );
    for (const token of acknowledged) {
      for (const node of nodes.slice(0, 2)) {
        await waitUntil(async () => (await call(node, `Bearer ${token}`)).status === 401, 1000, 10);
      }
    }
    nodes[2] = await spawnServer([...shared(), '--workers', '1', '--failed-auth-limit-per-client', 'off']);
  });
});

async function auditCount(): Promise<number> {
  const result = await cli('audit', '--client', 'fleet', '--json');
  const events = JSON.parse(result.stdout) as { type: string; count: number }[];
  return events.filter((e) => e.type === 'tokens.issued').reduce((sum, e) => sum + e.count, 0);
}

describe('two nodes with tight failed-authentication limits, shared through Redis', () => {
  let limited: SharedBackend;
  let limitedDir: string;
  let pair: ServerProcess[];
  const limitedCli = (...args: string[]) => runCli([...args, ...clusterFlags(limitedDir, limited)]);

  beforeAll(async () => {
    limited = await createSharedBackend();
    limitedDir = tempDataDir();
    await limitedCli('clients', 'create', 'nat', '--json');
    const serve = [
      ...clusterFlags(limitedDir, limited),
      '--failed-auth-limit-per-client',
      '3/15m',
      '--failed-auth-limit-per-address',
      '6/15m',
    ];
    pair = await Promise.all([spawnServer(serve), spawnServer(serve)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(pair.map((node) => node.stop('SIGTERM')));
    await limited.drop();
    rmSync(limitedDir, { recursive: true, force: true });
  });

  it('a rotation with no grace does not lock a fleet behind one address out of its new key on any node', async () => {
    const old = JSON.parse((await limitedCli('keys', 'create', 'nat', '--json')).stdout);
    const nat = '127.0.0.8';
    const send = (node: ServerProcess, authorization: string) =>
      httpsRequest(node.port, new https.Agent({ rejectUnauthorized: false }), {
        path: '/v2.01/nat/clients',
        headers: { authorization },
        localAddress: nat,
      });
    const oldBasic = basicHeader('nat', old.apiKey);
    const tokenResponse = await httpsRequest((pair[0] as ServerProcess).port, agent, tokenRequest(oldBasic));
    const oldBearer = `Bearer ${tokenResponse.json<{ access_token: string }>().access_token}`;
    const rotated = JSON.parse(
      (await limitedCli('keys', 'rotate', 'nat', old.keyId, '--grace-hours', '0', '--json')).stdout,
    );
    // Every node has heard of the rotation (fresh connections: each may reach another worker).
    await waitUntil(
      async () =>
        (await Promise.all(pair.map((node) => send(node, oldBearer)))).every((a) => a.status === 401),
      2000,
    );
    const statuses = (
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          send(pair[i % 2] as ServerProcess, i % 4 < 2 ? oldBearer : oldBasic),
        ),
      )
    ).map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(40);
    for (const node of pair) {
      expect((await send(node, basicHeader('nat', rotated.apiKey))).status).toBe(200);
    }
  });
});
