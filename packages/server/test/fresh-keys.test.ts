import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../src/keys/api-key.js';
import { runCli } from './helpers/cli.js';
import {
  basicHeader,
  startTestServer,
  type TestResponse,
  type TestServer,
  tokenRequest,
  waitUntil,
} from './helpers/harness.js';

/**
 * A deployment script creates a key with the CLI (another process, writing the store) and uses it at
 * once. The server may hold the client in memory without that key, and learns of the change only at its
 * next read of the change feed (250 ms by default, as here): the key must work before that, on whichever
 * process answers. Every call goes on a new connection, so that with workers each may land on another.
 */
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({
    changePollMs: 250,
    failedAuthLimitPerClient: 'off',
    failedAuthLimitPerAddress: 'off',
  });
});
afterAll(() => t.close());

/**
 * A key of the right shape and checksum that is no client's: it gets as far as the lookup (a mistyped
 * key is refused by its checksum before any).
 */
const wellFormedStranger = () => generateApiKey(t.server.options.environment);

/**
 * The CLI on the server's store, as an operator's script runs it; resolves with its JSON output. Without
 * `--cache`: its Redis announcement would usually reach the server first and hide what this file tests.
 */
async function cli(...args: string[]): Promise<{ apiKey: string; keyId: string }> {
  const result = await runCli([...args, '--json', ...t.cliFlags({ announce: false })]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

function getClient(clientId: string, authorization: string): Promise<TestResponse> {
  return t.requestOnNewConnection({ path: `/v2.01/${clientId}/clients`, headers: { authorization } });
}

async function tokenFor(clientId: string, apiKey: string): Promise<string> {
  const response = await t.requestOnNewConnection(tokenRequest(basicHeader(clientId, apiKey)));
  expect(response.status, response.text).toBe(200);
  return response.json<{ access_token: string }>().access_token;
}

describe('a key or client created by the CLI while the server runs', () => {
  it('a new key works on the very next request, and so does its token, on any process', async () => {
    const first = await t.createClient('scripted');
    // In memory now, on every process that answers, without the keys to come.
    for (let i = 0; i < 4; i++) expect((await getClient('scripted', first.basic)).status).toBe(200);
    for (let round = 0; round < 5; round++) {
      const created = await cli('keys', 'create', 'scripted');
      const answer = await getClient('scripted', basicHeader('scripted', created.apiKey));
      expect(answer.status, `round ${round}: ${answer.text}`).toBe(200);
      const bearer = `Bearer ${await tokenFor('scripted', created.apiKey)}`;
      for (let i = 0; i < 2; i++) expect((await getClient('scripted', bearer)).status).toBe(200);
    }
  });

  it('a new client works at once, even when its ClientId was tried (and refused) before', async () => {
    const guess = basicHeader('newcomer', wellFormedStranger());
    for (let i = 0; i < 4; i++) expect((await getClient('newcomer', guess)).status).toBe(401);
    const created = await cli('clients', 'create', 'newcomer');
    const basic = basicHeader('newcomer', created.apiKey);
    for (let i = 0; i < 4; i++) expect((await getClient('newcomer', basic)).status).toBe(200);
  });

  it('a client enabled by the CLI works at once, with its key and its token, on any process', async () => {
    const created = await t.createClient('paused');
    const bearer = `Bearer ${await tokenFor('paused', created.apiKey)}`;
    await cli('clients', 'disable', 'paused');
    const refused = async () =>
      (await getClient('paused', created.basic)).status === 401 &&
      (await getClient('paused', bearer)).status === 401;
    expect(await waitUntil(refused, 1000, 5)).toBeLessThan(1000);
    // Disabled in memory now, on every process that answers.
    for (let i = 0; i < 4; i++) expect(await refused()).toBe(true);
    for (let round = 0; round < 3; round++) {
      await cli('clients', 'enable', 'paused');
      for (const authorization of [created.basic, bearer, created.basic, bearer]) {
        const answer = await getClient('paused', authorization);
        expect(answer.status, `round ${round}: ${answer.text}`).toBe(200);
      }
      await cli('clients', 'disable', 'paused');
      expect(await waitUntil(refused, 1000, 5)).toBeLessThan(1000);
    }
  });

  it('a revoked key stays refused within the bound; misses that read the store never bring it back', async () => {
    await t.createClient('revoking');
    const created = await cli('keys', 'create', 'revoking');
    const basic = basicHeader('revoking', created.apiKey);
    const bearer = `Bearer ${await tokenFor('revoking', created.apiKey)}`;
    expect((await getClient('revoking', basic)).status).toBe(200);
    await cli('keys', 'revoke', 'revoking', created.keyId);
    const took = await waitUntil(
      async () =>
        (await getClient('revoking', basic)).status === 401 &&
        (await getClient('revoking', bearer)).status === 401,
      1000,
      5,
    );
    expect(took).toBeLessThan(1000);
    // Wrong keys make the server read the client again, alongside the revoked key and its token.
    for (let round = 0; round < 3; round++) {
      const wrong = () => basicHeader('revoking', wellFormedStranger());
      const answers = await Promise.all(
        [wrong(), basic, bearer, wrong(), basic, bearer].map((authorization) =>
          getClient('revoking', authorization),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401, 401, 401, 401]);
      // Past the interval between two reads of one client, so that the next round reads it again.
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  });
});
