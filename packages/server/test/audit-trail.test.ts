import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setClientStatus } from '../src/admin/clients.js';
import { createKey, revokeKey, rotateKey } from '../src/admin/keys.js';
import type { AuditEvent } from '../src/domain/records.js';
import {
  basicHeader,
  dropTestBackend,
  logLineWith,
  mistyped,
  plainHttpRequest,
  runSql,
  startTestServer,
  type TestClient,
  type TestServer,
  tempDataDir,
} from './helpers/harness.js';

/**
 * One server run that causes every kind of audit event, then the trail read back from the store after a
 * clean stop (which flushes the counted events).
 */
const dataDir = tempDataDir();
const secrets: string[] = [];
let t: TestServer;
let acme: TestClient;
let events: AuditEvent[];
let startedAt: number;

beforeAll(async () => {
  startedAt = Date.now();
  t = await startTestServer({
    dataDir,
    tokenLimit: '3/10m',
    rateLimits: '2/1m',
    failedAuthLimitPerClient: '3/15m',
  });
  acme = await t.createClient('acme');
  secrets.push(acme.apiKey, acme.basic);
  for (let i = 0; i < 4; i++) {
    const response = await t.request({
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: { authorization: acme.basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    if (response.status === 200) secrets.push(response.json<{ access_token: string }>().access_token);
  }
  const wrong = basicHeader('acme', mistyped(acme.apiKey));
  secrets.push(wrong);
  for (let i = 0; i < 5; i++) {
    await t.request({
      path: '/v2.01/acme/clients',
      headers: { authorization: wrong },
      localAddress: '127.0.0.2',
    });
  }
  for (let i = 0; i < 3; i++) {
    await t.request({ path: '/v2.01/acme/clients', headers: { authorization: `Bearer ${secrets[2]}` } });
  }
  const token = secrets[2] as string;
  await t.request({
    method: 'POST',
    path: '/v2.01/oauth/revoke',
    headers: { authorization: acme.basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${token}`,
  });
  await plainHttpRequest(t.port, acme.basic, '/v2.01/acme/clients');
  const spare = await createKey(t.context, 'acme', { alias: 'spare' });
  const rotated = await rotateKey(t.context, 'acme', spare.key.keyId, 1);
  secrets.push(spare.apiKey, rotated.apiKey);
  await revokeKey(t.server.store, 'acme', spare.key.keyId);
  await setClientStatus(t.server.store, 'acme', 'disabled');
  await setClientStatus(t.server.store, 'acme', 'active');
  // Exposure is acted on after the plain-HTTP answer: wait until it is logged, after its entry is written.
  await logLineWith(t, 'credentials.exposed');
  await t.server.close();
  const store = await t.openStore();
  events = await store.readAudit({ limit: 1000 });
  await store.close();
});
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  await dropTestBackend(dataDir);
});

function find(type: AuditEvent['type'], match: Partial<AuditEvent> = {}): AuditEvent[] {
  return events.filter(
    (e) => e.type === type && Object.entries(match).every(([k, v]) => e[k as keyof AuditEvent] === v),
  );
}

describe('the audit trail', () => {
  it('records client and key changes, each once, with ids and never keys', () => {
    expect(find('client.created', { clientId: 'acme' })).toHaveLength(1);
    expect(find('key.created', { clientId: 'acme' })).toHaveLength(2);
    expect(find('key.rotated', { clientId: 'acme' })).toHaveLength(1);
    expect(find('key.rotated')[0]?.detail).toMatchObject({ replacedBy: expect.stringMatching(/^key_/) });
    expect(find('key.revoked', { clientId: 'acme' })).toHaveLength(1);
    expect(find('client.disabled', { clientId: 'acme' })).toHaveLength(1);
    expect(find('client.enabled', { clientId: 'acme' })).toHaveLength(1);
    expect(find('key.exposed', { clientId: 'acme', keyId: acme.keyId })).toHaveLength(1);
  });

  it('counts tokens issued per client and key per minute, in one entry, not one per token', () => {
    const issued = find('tokens.issued', { clientId: 'acme', keyId: acme.keyId });
    expect(issued.reduce((sum, e) => sum + e.count, 0)).toBe(3);
    expect(issued.length).toBeLessThanOrEqual(2); // a minute may turn during the run
    expect((issued[0]?.at ?? 1) % 60_000).toBe(0);
    expect(find('limit.token', { clientId: 'acme' }).reduce((sum, e) => sum + e.count, 0)).toBe(1);
  });

  it('aggregates failed authentications per source and ClientId, and the refusals they earn per source', () => {
    const failed = find('authentication.failed', { clientId: 'acme', source: '127.0.0.2' });
    expect(failed.reduce((sum, e) => sum + e.count, 0)).toBe(3);
    // A refused request is not checked: the ClientId it claims is the caller's to choose, so not kept.
    const blocked = find('limit.failed_authentication', { source: '127.0.0.2' });
    expect(blocked.every((e) => e.clientId === null)).toBe(true);
    expect(blocked.reduce((sum, e) => sum + e.count, 0)).toBe(2);
    expect(find('limit.rate', { clientId: 'acme' }).reduce((sum, e) => sum + e.count, 0)).toBe(1);
  });

  it('names a revoked token by a short fingerprint', () => {
    const revoked = find('token.revoked', { clientId: 'acme' });
    expect(revoked).toHaveLength(1);
    expect(revoked[0]?.detail?.token).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('holds no API key, token or Authorization value', () => {
    const text = JSON.stringify(events);
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.replace(/^(Basic|Bearer) /, ''));
    }
    expect(text).not.toContain('pcl_');
  });

  it('filters by client and time, and keeps the latest entries within the limit', async () => {
    const store = await t.openStore();
    try {
      expect(await store.readAudit({ clientId: 'nobody', limit: 10 })).toEqual([]);
      expect(await store.readAudit({ since: Date.now() + 60_000, limit: 10 })).toEqual([]);
      const all = await store.readAudit({ since: startedAt - 60_000, limit: 1000 });
      expect(all.length).toBe(events.length);
      const latest = await store.readAudit({ limit: 2 });
      expect(latest).toEqual(events.slice(-2));
    } finally {
      await store.close();
    }
  });

  it('is append-only: the database refuses to change or delete an entry', async () => {
    for (const statement of ['UPDATE audit_events SET count = 0', 'DELETE FROM audit_events']) {
      await expect(runSql(t, statement)).rejects.toThrow(/append-only/);
    }
  });

  it('records a key’s expiry once', async () => {
    const store = await t.openStore();
    try {
      const context = { store, serverSecret: t.context.serverSecret, environment: 'sandbox' as const };
      const shortLived = await createKey(context, 'acme', { expiresInDays: 0.1 / 86_400 });
      // Past its expiry, without waiting for it.
      const later = Date.now() + 150;
      await store.recordExpiredKeys(later);
      await store.recordExpiredKeys(later + 1000);
      const expired = (await store.readAudit({ limit: 1000 })).filter((e) => e.type === 'key.expired');
      expect(expired).toEqual([expect.objectContaining({ clientId: 'acme', keyId: shortLived.key.keyId })]);
    } finally {
      await store.close();
    }
  });
});
