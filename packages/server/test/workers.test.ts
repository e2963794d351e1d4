import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServerProcess, spawnServer } from './helpers/cli.js';
import { basicHeader, httpsRequest, type TestResponse, tempDataDir } from './helpers/harness.js';

/**
 * `serve --workers 2`: limits are counted once for the whole server, whichever worker answers. Each call
 * goes on a new connection, which the primary hands to the workers in turn.
 */
let dataDir: string;
let server: ServerProcess;
let basic: string;

beforeAll(async () => {
  dataDir = tempDataDir();
  const created = JSON.parse(
    (await runCli(['clients', 'create', 'acme', '--json', '--data-dir', dataDir])).stdout,
  );
  basic = basicHeader('acme', created.apiKey);
  server = await spawnServer([
    '--workers',
    '2',
    '--data-dir',
    dataDir,
    '--rate-limits',
    '10/1h',
    '--token-limit',
    '4/1h',
  ]);
});
afterAll(async () => {
  await server.stop('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

function onNewConnection(request: {
  method?: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}): Promise<TestResponse> {
  const agent = new https.Agent({ ca: readFileSync(join(dataDir, 'tls-cert.pem')) });
  return httpsRequest(server.port, agent, {
    ...request,
    headers: { authorization: basic, ...request.headers },
  });
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 40));

describe('--workers 2', () => {
  it('counts API calls once across workers: 10 per hour means 10, whichever worker answers', async () => {
    const statuses: number[] = [];
    const served = new Set<string>();
    for (let i = 0; i < 14; i++) {
      const answer = await onNewConnection({ path: '/v2.01/acme/clients' });
      statuses.push(answer.status);
      if (answer.status === 200) served.add(String(answer.headers['x-ratelimit']));
      await pause();
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429]);
    // Every admitted call saw a different count: none was counted twice or missed.
    expect(served.size).toBe(10);
  });

  it('counts tokens once across workers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const answer = await onNewConnection({
        method: 'POST',
        path: '/v2.01/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      statuses.push(answer.status);
      await pause();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });
});
