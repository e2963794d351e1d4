import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminContext } from '../src/admin/admin.js';
import { createClient } from '../src/admin/clients.js';
import { createKey } from '../src/admin/keys.js';
import { generateApiKey } from '../src/keys/api-key.js';
import { loadOrCreateServerSecret } from '../src/keys/server-secret.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import {
  basicHeader,
  httpsRequest,
  startTestServer,
  type TestServer,
  tempDataDir,
} from './helpers/harness.js';

/**
 * A miss reads through to the store, boundedly: a flood of wrong keys for one client costs at most one
 * store read per 100 ms, however many arrive. The server's store counts its reads; the writer is another
 * connection to the same file, as the CLI is, and the change feed is read too rarely to matter here.
 */
let dataDir: string;
let t: TestServer;
let writer: SqliteStore;
let admin: AdminContext;
let reads = 0;
let apiKey: string;
let agent: https.Agent;

beforeAll(async () => {
  dataDir = tempDataDir();
  const real = new SqliteStore(dataDir);
  const counting = new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      if (name === 'getClientCredentials') {
        return (clientId: string) => {
          reads++;
          return real.getClientCredentials(clientId);
        };
      }
      return value.bind(target);
    },
  }) as Store;
  t = await startTestServer(
    { dataDir, changePollMs: 60_000, failedAuthLimitPerClient: 'off', failedAuthLimitPerAddress: 'off' },
    { store: counting },
  );
  agent = new https.Agent({ ca: t.server.tls.cert, keepAlive: true, maxSockets: 20 });
  writer = new SqliteStore(dataDir);
  admin = { store: writer, serverSecret: loadOrCreateServerSecret(dataDir), environment: 'sandbox' };
  apiKey = (await createClient(admin, { clientId: 'flooded' })).apiKey;
});
afterAll(async () => {
  agent.destroy();
  await writer.close();
  await t.close();
});

function call(key: string) {
  return httpsRequest(t.port, agent, {
    path: '/v2.01/flooded/clients',
    headers: { authorization: basicHeader('flooded', key) },
  });
}

describe('reading through on a miss', () => {
  // Well-formed keys that are no client's: a mistyped one is refused by its checksum before any lookup.
  it('a flood of wrong keys costs at most one store read per client per 100 ms', async () => {
    expect((await call(apiKey)).status).toBe(200);
    const before = reads;
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 300 }, () => call(generateApiKey('sandbox'))));
    const elapsed = performance.now() - started;
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([401]));
    console.info(`read-through: 300 wrong keys in ${Math.round(elapsed)} ms cost ${reads - before} reads`);
    expect(reads - before).toBeLessThanOrEqual(Math.floor(elapsed / 100) + 1);
  });

  it('a key written by another connection works on the next request, for one read', async () => {
    const created = await createKey(admin, 'flooded');
    // Past the interval since the flood's last read, as a script's next command is.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = reads;
    expect((await call(created.apiKey)).status).toBe(200);
    expect(reads - before).toBe(1);
    expect((await call(created.apiKey)).status).toBe(200);
    expect(reads - before).toBe(1);
  });
});
