import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../src/domain/records.js';
import type { Store } from '../src/store/store.js';
import { runCli } from './helpers/cli.js';
import { runSql, startTestServer, type TestServer } from './helpers/harness.js';

/**
 * Retention of the append-only audit trail: `portcullis audit prune` is the one way entries leave it,
 * removes only entries older than a day, and records itself in the trail.
 */
const DAY_MS = 86_400_000;
let t: TestServer;
let store: Store;

beforeAll(async () => {
  t = await startTestServer();
  await t.createClient('acme');
  store = await t.openStore();
});
afterAll(async () => {
  await store.close();
  await t.close();
});

function entry(type: AuditEvent['type'], at: number): AuditEvent {
  return {
    at,
    type,
    clientId: 'acme',
    keyId: null,
    source: '192.0.2.1',
    count: 1,
    detail: null,
    actor: null,
  };
}

function prune(...args: string[]) {
  const store = t.server.options.store;
  return runCli(['audit', 'prune', '--data-dir', t.dataDir, ...(store ? ['--store', store] : []), ...args]);
}

describe('audit retention', () => {
  it('prune --before removes the older entries only, and records the pruning in the trail', async () => {
    const now = Date.now();
    await store.appendAuditEvents([
      entry('authentication.failed', now - 5 * DAY_MS),
      entry('tokens.issued', now - 3 * DAY_MS),
      entry('authentication.failed', now - DAY_MS / 2),
    ]);
    const result = await prune('--before', '2d', '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed.removed).toBe(2);

    const trail = await store.readAudit({ limit: 1000 });
    expect(trail.filter((e) => e.at < now - 2 * DAY_MS)).toEqual([]);
    expect(trail.filter((e) => e.at === now - DAY_MS / 2)).toHaveLength(1);
    expect(trail.find((e) => e.type === 'client.created')?.clientId).toBe('acme');
    const pruned = trail.filter((e) => e.type === 'audit.pruned');
    expect(pruned).toEqual([expect.objectContaining({ detail: { before: printed.before, removed: 2 } })]);
  });

  it('never removes the record of an earlier pruning', async () => {
    const old = Date.now() - 10 * DAY_MS;
    await store.appendAuditEvents([{ ...entry('audit.pruned', old), detail: { removed: 7 } }]);
    const result = await prune('--before', '2d', '--json');
    expect(JSON.parse(result.stdout).removed).toBe(0);
    const trail = await store.readAudit({ limit: 1000 });
    expect(trail.filter((e) => e.type === 'audit.pruned').map((e) => e.at)).toContain(old);
  });

  it('the database still refuses any other delete or update after a pruning (append-only)', async () => {
    await store.appendAuditEvents([entry('authentication.failed', Date.now() - 4 * DAY_MS)]);
    for (const statement of [
      'DELETE FROM audit_events',
      "DELETE FROM audit_events WHERE type = 'audit.pruned'",
      'UPDATE audit_events SET count = 0',
    ]) {
      await expect(runSql(t, statement)).rejects.toThrow(/append-only/);
    }
  });

  it('refuses a cutoff less than a day back, with one line and nothing removed', async () => {
    await store.appendAuditEvents([entry('authentication.failed', Date.now() - 60 * 60_000)]);
    const before = (await store.readAudit({ limit: 1000 })).length;
    const result = await prune('--before', '30m');
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('--before');
    expect((await store.readAudit({ limit: 1000 })).length).toBe(before);
  });
});
