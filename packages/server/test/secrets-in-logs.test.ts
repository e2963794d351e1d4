import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntrospector } from '../src/admin/introspectors.js';
import { rotateKey } from '../src/admin/keys.js';
import { generateApiKey } from '../src/keys/api-key.js';
import {
  basicHeader,
  plainHttpRequest,
  startTestServer,
  type TestServer,
  waitUntil,
} from './helpers/harness.js';

/**
 * The rule: no API key, token or Authorization value ever reaches a log line. Every secret this run makes
 * or sends is collected, the server is driven through successes and every kind of failure, and every log
 * line it wrote, at the most verbose level (the access line of every request included), is searched for
 * every secret.
 */
let t: TestServer;
const secrets: string[] = [];

beforeAll(async () => {
  t = await startTestServer({ failedAuthLimitPerClient: '2/15m', tokenLimit: '3/10m', logLevel: 'debug' });
});
afterAll(() => t.close());

describe('secrets never reach the log', () => {
  it('holds across successes, failures, limits and plain HTTP', async () => {
    const client = await t.createClient('acme');
    const wrongKey = generateApiKey('sandbox');
    const otherEnvironmentKey = generateApiKey('production');
    secrets.push(client.apiKey, wrongKey, otherEnvironmentKey, client.basic);
    const token = await t.token(client);
    const created = await createIntrospector(t.context, 'resource-server');
    const introspector = basicHeader('resource-server', created.apiKey);
    const rotated = await rotateKey(t.context, 'acme', (await t.createKey('acme')).keyId, 1);
    secrets.push(token, created.apiKey, introspector, rotated.apiKey);
    const attempts: { path: string; authorization?: string; method?: string; body?: string }[] = [
      { path: '/v2.01/acme/clients', authorization: `Bearer ${token}` },
      { path: '/v2.01/acme/clients', authorization: client.basic },
      { path: '/v2.01/acme/clients', authorization: `Bearer ${token.slice(0, -3)}xyz` },
      { path: '/v2.01/acme/clients', authorization: basicHeader('acme', wrongKey) },
      { path: '/v2.01/acme/clients', authorization: basicHeader('acme', otherEnvironmentKey) },
      { path: '/v2.01/acme/clients', authorization: basicHeader(client.apiKey, 'acme') },
      { path: `/v2.01/acme/clients?access_token=${token}` },
      { path: '/v2.01/globex/clients', authorization: client.basic },
      {
        method: 'POST',
        path: '/v2.01/oauth/token',
        authorization: basicHeader('acme', wrongKey),
        body: 'grant_type=client_credentials',
      },
      {
        method: 'POST',
        path: `/v2.01/oauth/token?client_secret=${client.apiKey}`,
        body: 'grant_type=client_credentials',
      },
      {
        method: 'POST',
        path: '/v2.01/oauth/token',
        body: `grant_type=client_credentials&client_id=acme&client_secret=${client.apiKey}`,
      },
      {
        method: 'POST',
        path: '/v2.01/oauth/token',
        authorization: client.basic,
        body: 'grant_type=password',
      },
      {
        method: 'POST',
        path: '/v2.01/oauth/introspect',
        authorization: client.basic,
        body: `token=${token}`,
      },
      {
        method: 'POST',
        path: '/v2.01/oauth/introspect',
        authorization: introspector,
        body: `token=${token}`,
      },
      {
        method: 'POST',
        path: '/v2.01/oauth/revoke',
        authorization: basicHeader('acme', wrongKey),
        body: `token=${token}`,
      },
      { method: 'POST', path: '/v2.01/oauth/revoke', authorization: client.basic, body: `token=${token}` },
      { path: '/v2.01/acme/clients', authorization: `Bearer ${token}` },
    ];
    // Twice, so that the failed-authentication and token limits are reached and logged too.
    for (let round = 0; round < 2; round++) {
      for (const attempt of attempts) {
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        if (attempt.authorization !== undefined) headers.authorization = attempt.authorization;
        await t.request({
          method: attempt.method ?? 'GET',
          path: attempt.path,
          headers,
          ...(attempt.body && { body: attempt.body }),
        });
      }
      secrets.push(await t.token(client).catch(() => 'no-token'));
    }
    await plainHttpRequest(t.port, client.basic, '/v2.01/acme/clients?secret=x');
    await plainHttpRequest(t.port, `Bearer ${token}`, '/v2.01/acme/clients');
    // Both exposures (the key sent as Basic, then the token) are checked after their answers, each in
    // its own store write: wait for both lines, or the audit read below can come before the key's entry.
    await waitUntil(async () => t.logLines.join('').split('credentials.exposed').length > 2, 10_000);

    expect(t.logLines.length).toBeGreaterThan(10);
    const log = t.logLines.join('');
    for (const secret of secrets.filter((s) => s !== 'no-token')) {
      expect(log).not.toContain(secret);
      // Nor the base64 credentials alone, nor the key without its prefix.
      expect(log).not.toContain(secret.replace(/^(Basic|Bearer) /, ''));
    }
    expect(log).toContain('"event":"request"');
    expect(log).toContain('request.refused');
    expect(log).toContain('request.unauthenticated');
    expect(log).toContain('request.limited');
    expect(log).toContain('request.plain_http');

    // Nor an audit entry, nor a listing.
    const listed = JSON.stringify([
      await t.server.store.readAudit({ limit: 10_000 }),
      await t.server.store.listApiKeys('acme'),
      await t.server.store.listIntrospectors(),
    ]);
    expect(listed).toContain('key.exposed');
    for (const secret of secrets.filter((s) => s !== 'no-token')) {
      expect(listed).not.toContain(secret.replace(/^(Basic|Bearer) /, ''));
    }
  });
});
