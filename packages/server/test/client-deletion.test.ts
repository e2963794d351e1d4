import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/domain/records.js';
import { type CliResult, runCli } from './helpers/cli.js';
import {
  basicHeader,
  startTestServer,
  type TestResponse,
  type TestServer,
  tokenRequest,
  waitUntil,
} from './helpers/harness.js';

/**
 * Deleting clients and keys, and changes that change nothing, as an operator does them: with the CLI (its
 * own process) on the server's store, announcing on the server's cache when it has one, while the server
 * answers over HTTPS. The server reads the change feed at its default pace (250 ms); every call goes on a
 * new connection, so that with workers each may land on another process.
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

/** A key revoked, or a client disabled, stops working within this on every process (docs/architecture.md). */
const REVOCATION_BOUND_MS = 1000;

function cli(...args: string[]): Promise<CliResult> {
  return runCli([...args, ...t.cliFlags({ announce: true })]);
}

async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const result = await cli(...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** One line on stdout, exit 0. */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  expect(result.stdout.trim()).toMatch(pattern);
}

/** One line on stderr starting `portcullis:`, a non-zero exit. */
function expectRefused(result: CliResult, pattern: RegExp): void {
  expect(result.code).not.toBe(0);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^portcullis: /);
  expect(result.stderr).toMatch(pattern);
}

function getClient(clientId: string, authorization: string): Promise<TestResponse> {
  return t.requestOnNewConnection({ path: `/v2.01/${clientId}/clients`, headers: { authorization } });
}

async function bearerFor(clientId: string, apiKey: string): Promise<string> {
  const response = await t.requestOnNewConnection(tokenRequest(basicHeader(clientId, apiKey)));
  expect(response.status, response.text).toBe(200);
  return `Bearer ${response.json<{ access_token: string }>().access_token}`;
}

/** Every credential answered `status`, twice over, each on a new connection. */
function all(clientId: string, authorizations: readonly string[], status: number): () => Promise<boolean> {
  return async () => {
    const answers = await Promise.all(
      [...authorizations, ...authorizations].map((authorization) => getClient(clientId, authorization)),
    );
    return answers.every((answer) => answer.status === status);
  };
}

/**
 * The client's audit entries, without the tokens it was issued: those are counted and written seconds
 * later (audit/audit-counter.ts), whenever the count is flushed.
 */
async function auditOf(clientId: string): Promise<AuditEvent[]> {
  const trail = await cliJson<AuditEvent[]>('audit', '--client', clientId);
  return trail.filter((entry) => entry.type !== 'tokens.issued');
}

/** A client made with the CLI, with a second key, and a token of each key. */
async function clientWithTwoKeys(clientId: string) {
  const first = await cliJson<{ apiKey: string; keyId: string }>('clients', 'create', clientId);
  const second = await cliJson<{ apiKey: string; keyId: string }>('keys', 'create', clientId);
  const firstBasic = basicHeader(clientId, first.apiKey);
  const secondBasic = basicHeader(clientId, second.apiKey);
  return {
    first: { ...first, basic: firstBasic, bearer: await bearerFor(clientId, first.apiKey) },
    second: { ...second, basic: secondBasic, bearer: await bearerFor(clientId, second.apiKey) },
  };
}

describe('clients delete', () => {
  it("refuses the client's keys and tokens right after the CLI returns, on every process", async () => {
    const { first, second } = await clientWithTwoKeys('leaving');
    const credentials = [first.basic, first.bearer, second.basic, second.bearer];
    expect(await all('leaving', credentials, 200)()).toBe(true);
    expectOneLine(await cli('clients', 'delete', 'leaving'), /^Client leaving is deleted: .*never reused/);
    const took = await waitUntil(all('leaving', credentials, 401), REVOCATION_BOUND_MS);
    expect(took).toBeLessThan(REVOCATION_BOUND_MS);
    // And stays refused once the change feed has been read on every process.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await all('leaving', credentials, 401)()).toBe(true);
  });

  it('leaves the listings; show and keys say it was deleted; its audit history stays', async () => {
    await clientWithTwoKeys('retired');
    await cliJson('clients', 'delete', 'retired');
    const listed = await cliJson<{ clientId: string }[]>('clients', 'list');
    expect(listed.map((client) => client.clientId)).not.toContain('retired');
    for (const args of [
      ['clients', 'show', 'retired'],
      ['keys', 'list', 'retired'],
      ['keys', 'create', 'retired'],
      ['clients', 'disable', 'retired'],
      ['clients', 'update', 'retired', '--name', 'Back'],
    ]) {
      expectRefused(await cli(...args), /client retired was deleted at \S+Z; its ClientId is never reused/);
    }
    const trail = await auditOf('retired');
    expect(trail.map((entry) => entry.type)).toEqual([
      'client.created',
      'key.created',
      'key.created',
      'client.deleted',
    ]);
    expect(trail.at(-1)).toMatchObject({ keyId: null, detail: { keys: 2 } });
    expect(JSON.stringify(trail)).not.toContain('pcl_');
  });

  it('deleting again says so, exits 0 and writes nothing', async () => {
    await cliJson('clients', 'create', 'twice');
    await cliJson('clients', 'delete', 'twice');
    const entries = (await auditOf('twice')).length;
    const changes = await t.server.store.latestChange();
    expectOneLine(
      await cli('clients', 'delete', 'twice'),
      /^Nothing changed: client twice was already deleted at \S+Z\.$/,
    );
    expect(await cliJson('clients', 'delete', 'twice')).toMatchObject({ clientId: 'twice', changed: false });
    expect((await auditOf('twice')).length).toBe(entries);
    expect(await t.server.store.latestChange()).toBe(changes);
    expectRefused(await cli('clients', 'delete', 'nobody'), /no client "nobody"/);
  });

  it('its ClientId is never reused: creating it again is refused with the reason', async () => {
    const { first } = await clientWithTwoKeys('reused');
    await cliJson('clients', 'delete', 'reused');
    expectRefused(
      await cli('clients', 'create', 'reused'),
      /ClientId reused belonged to a client deleted at \S+Z and is never reused: choose another/,
    );
    expect((await getClient('reused', first.basic)).status).toBe(401);
  });
});

describe('keys delete', () => {
  it("refuses the key and its token right after the CLI returns; the client's other key keeps working", async () => {
    const { first, second } = await clientWithTwoKeys('pruned');
    expect(await all('pruned', [second.basic, second.bearer], 200)()).toBe(true);
    expectOneLine(
      await cli('keys', 'delete', 'pruned', second.keyId),
      new RegExp(`^Key ${second.keyId} of client pruned is deleted`),
    );
    const took = await waitUntil(all('pruned', [second.basic, second.bearer], 401), REVOCATION_BOUND_MS);
    expect(took).toBeLessThan(REVOCATION_BOUND_MS);
    expect(await all('pruned', [first.basic, first.bearer], 200)()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await all('pruned', [second.basic, second.bearer], 401)()).toBe(true);

    const listed = await cliJson<{ keyId: string }[]>('keys', 'list', 'pruned');
    expect(listed.map((key) => key.keyId)).toEqual([first.keyId]);
    const shown = await cliJson<{ keys: { keyId: string }[] }>('clients', 'show', 'pruned');
    expect(shown.keys.map((key) => key.keyId)).toEqual([first.keyId]);
    const deleted = (await auditOf('pruned')).filter((entry) => entry.type === 'key.deleted');
    expect(deleted).toEqual([expect.objectContaining({ keyId: second.keyId, detail: null })]);
  });

  it('deleting again says so and writes nothing; a deleted key cannot be revoked or rotated', async () => {
    const { second } = await clientWithTwoKeys('tidy');
    await cliJson('keys', 'delete', 'tidy', second.keyId);
    const entries = (await auditOf('tidy')).length;
    expectOneLine(
      await cli('keys', 'delete', 'tidy', second.keyId),
      new RegExp(`^Nothing changed: key ${second.keyId} of client tidy was already deleted at \\S+Z\\.$`),
    );
    expect(await cliJson('keys', 'delete', 'tidy', second.keyId)).toMatchObject({ changed: false });
    expectRefused(await cli('keys', 'revoke', 'tidy', second.keyId), /has no key/);
    expectRefused(await cli('keys', 'rotate', 'tidy', second.keyId), /has no key/);
    expectRefused(await cli('keys', 'delete', 'tidy', 'key_nothing'), /has no key key_nothing/);
    expect((await auditOf('tidy')).length).toBe(entries);
  });
});

describe('changes that change nothing', () => {
  it('write no audit entry and no change, and say so in one line (exit 0, "changed": false in JSON)', async () => {
    const created = await cliJson<{ keyId: string }>(
      'clients',
      'create',
      'steady',
      '--name',
      'Steady',
      '--token-ttl',
      '600',
    );
    await cliJson('keys', 'revoke', 'steady', created.keyId);
    const entries = (await auditOf('steady')).length;
    const changes = await t.server.store.latestChange();
    const noOps: [string[], RegExp][] = [
      [['clients', 'enable', 'steady'], /^Nothing changed: client steady is already active\.$/],
      [['clients', 'update', 'steady'], /^Nothing changed: no setting given/],
      [
        ['clients', 'update', 'steady', '--name', 'Steady', '--token-ttl', '600', '--rate-limits', 'default'],
        /^Nothing changed: client steady already has these settings\.$/,
      ],
      [
        ['keys', 'revoke', 'steady', created.keyId],
        new RegExp(`^Nothing changed: key ${created.keyId} of client steady is already revoked\\.$`),
      ],
    ];
    for (const [args, line] of noOps) {
      expectOneLine(await cli(...args), line);
      expect(await cliJson(...args)).toMatchObject({ changed: false });
    }
    expect((await auditOf('steady')).length).toBe(entries);
    expect(await t.server.store.latestChange()).toBe(changes);

    expect(await cliJson('clients', 'disable', 'steady')).toMatchObject({
      status: 'disabled',
      changed: true,
    });
    const disabled = (await auditOf('steady')).length;
    expectOneLine(
      await cli('clients', 'disable', 'steady'),
      /^Nothing changed: client steady is already disabled\.$/,
    );
    expect((await auditOf('steady')).length).toBe(disabled);
  });

  it('client.updated names the fields that changed and their new values', async () => {
    const created = await cliJson<{ apiKey: string }>('clients', 'create', 'renamed', '--token-ttl', '600');
    expectOneLine(
      await cli(
        'clients',
        'update',
        'renamed',
        '--name',
        'New name',
        '--token-ttl',
        '900',
        '--rate-limits',
        'default',
      ),
      /^Client renamed is updated: name, tokenTtlSeconds\.$/,
    );
    const [updated] = (await auditOf('renamed')).filter((entry) => entry.type === 'client.updated');
    expect(updated?.detail).toEqual({ changed: { name: 'New name', tokenTtlSeconds: 900 } });
    expect((await cli('audit', '--client', 'renamed')).stdout).toContain(
      '{"changed":{"name":"New name","tokenTtlSeconds":900}}',
    );

    // A client's own PUT of its profile: its fields under MANGOPAY's names; the same PUT again writes nothing.
    const basic = basicHeader('renamed', created.apiKey);
    const put = () =>
      t.requestOnNewConnection({
        method: 'PUT',
        path: '/v2.01/renamed/clients',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: '{"PlatformDescription":"Payments","TechEmails":["ops@example.com"]}',
      });
    await waitUntil(async () => (await put()).status === 200, REVOCATION_BOUND_MS);
    expect((await put()).status).toBe(200);
    const profileUpdates = (await auditOf('renamed')).filter((entry) => entry.type === 'client.updated');
    expect(profileUpdates.map((entry) => entry.detail)).toEqual([
      { changed: { name: 'New name', tokenTtlSeconds: 900 } },
      { changed: { PlatformDescription: 'Payments', TechEmails: ['ops@example.com'] } },
    ]);
  });
});
