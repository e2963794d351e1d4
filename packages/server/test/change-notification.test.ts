import { rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminContext } from '../src/admin/admin.js';
import { createClient } from '../src/admin/clients.js';
import { revokeKey } from '../src/admin/keys.js';
import { loadOrCreateServerSecret } from '../src/keys/server-secret.js';
import { createJsonLogger } from '../src/log.js';
import { createPortcullisServer, type PortcullisServer } from '../src/server.js';
import { basicHeader, httpsRequest, type TestRequest, tempDataDir } from './helpers/harness.js';

/**
 * A change this process writes reaches its own caches and the other processes from the store's write
 * path, once committed: no caller invalidates or announces by hand, and a write that changed nothing
 * announces nothing. The change feed is not read during these tests (a poll interval of a minute), so
 * what they see comes from the write path alone.
 */
let dataDir: string;
let server: PortcullisServer;
let address: AddressInfo;
let agent: https.Agent;
let admin: AdminContext;
let announcements = 0;

beforeAll(async () => {
  dataDir = tempDataDir();
  server = await createPortcullisServer(
    {
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminPort: 'off',
      changePollMs: 60_000,
      logger: createJsonLogger(() => undefined),
    },
    {
      changeSignal: {
        announce: () => {
          announcements++;
        },
        subscribe: () => undefined,
      },
    },
  );
  address = await server.listen();
  agent = new https.Agent({ ca: server.tls.cert, keepAlive: true });
  admin = {
    store: server.store,
    serverSecret: loadOrCreateServerSecret(dataDir),
    environment: server.options.environment,
  };
});
afterAll(async () => {
  agent.destroy();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const request = (req: TestRequest) => httpsRequest(address.port, agent, req);

/** How many announcements `action` made. */
async function announcedBy(action: () => Promise<unknown>): Promise<number> {
  const before = announcements;
  await action();
  return announcements - before;
}

describe('a change written by this process', () => {
  it('is announced once, and a key revoked is refused at once, without reading the feed', async () => {
    let created: Awaited<ReturnType<typeof createClient>> | undefined;
    // The client and its first key: two changes.
    expect(await announcedBy(async () => (created = await createClient(admin, { clientId: 'acme' })))).toBe(
      2,
    );
    const basic = basicHeader('acme', created?.apiKey as string);
    const get = () => request({ path: '/v2.01/acme/clients', headers: { authorization: basic } });
    expect((await get()).status).toBe(200);
    expect(await announcedBy(() => revokeKey(server.store, 'acme', created?.key.keyId as string))).toBe(1);
    expect((await get()).status).toBe(401);
    // Revoking it again changes nothing, and announces nothing.
    expect(await announcedBy(() => revokeKey(server.store, 'acme', created?.key.keyId as string))).toBe(0);
  });

  it('PUT on the clients resource is announced once, and read back at once', async () => {
    const created = await createClient(admin, { clientId: 'globex' });
    const basic = basicHeader('globex', created.apiKey);
    expect((await request({ path: '/v2.01/globex/clients', headers: { authorization: basic } })).status).toBe(
      200,
    );
    const put = () =>
      request({
        method: 'PUT',
        path: '/v2.01/globex/clients',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify({ TaxNumber: 'T-42' }),
      });
    expect(await announcedBy(async () => expect((await put()).status).toBe(200))).toBe(1);
    const read = await request({ path: '/v2.01/globex/clients', headers: { authorization: basic } });
    expect(read.json()).toMatchObject({ TaxNumber: 'T-42' });
  });

  it('an update of a client that does not exist is announced to no one', async () => {
    expect(await announcedBy(() => server.store.updateClient('nobody', { name: 'Nobody' }, Date.now()))).toBe(
      0,
    );
  });
});
