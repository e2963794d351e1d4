import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../src/admin/admins.js';
import { PortcullisError } from '../src/errors.js';
import { AdminDirectory } from '../src/keys/admin-directory.js';
import { generateAdminToken, parseAdminToken } from '../src/keys/admin-token.js';
import { generateApiKey, hashApiKey } from '../src/keys/api-key.js';
import { CredentialRehashes } from '../src/keys/credential-rehashes.js';
import { ServerSecrets } from '../src/keys/server-secret.js';
import { SqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { mistyped, tempDataDir } from './helpers/harness.js';

/**
 * The admin listener's credential lookup: refuses a token of the wrong shape without a lookup, caches for
 * at most the revocation bound, finds a token hashed under an older server secret and queues it to move.
 */
const OLD = Buffer.alloc(32, 1);
const NEW = Buffer.alloc(32, 2);
const MAX_AGE_MS = 1000;

let dataDir: string;
let real: SqliteStore;
let lookups = 0;
let down = false;
/** The real store, counting `findAdmin` calls and failing them while `down` is set. */
let store: Store;

beforeAll(() => {
  dataDir = tempDataDir();
  real = new SqliteStore(dataDir);
  store = new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name !== 'findAdmin') return typeof value === 'function' ? value.bind(target) : value;
      return (keyHash: string) => {
        lookups++;
        return down ? Promise.reject(new Error('store unreachable')) : real.findAdmin(keyHash);
      };
    },
  }) as Store;
});
afterAll(async () => {
  await real.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function directory(secrets: Buffer[], rehashes = new CredentialRehashes()): AdminDirectory {
  return new AdminDirectory(store, new ServerSecrets(secrets, 'test'), MAX_AGE_MS, rehashes);
}

describe('admin tokens', () => {
  it('are pca_ with a checksum; API keys and mistyped tokens are not admin tokens', () => {
    const token = generateAdminToken();
    expect(token).toMatch(/^pca_[0-9A-Za-z]{38}$/);
    expect(parseAdminToken(token)).toBe(true);
    expect(parseAdminToken(mistyped(token))).toBe(false);
    expect(parseAdminToken(token.slice(0, -1))).toBe(false);
    expect(parseAdminToken(generateApiKey('sandbox'))).toBe(false);
    expect(parseAdminToken(`pcl_${token.slice(4)}`)).toBe(false);
  });
});

describe('AdminDirectory', () => {
  it('refuses a mistyped token or an API key without a lookup', async () => {
    const { token } = await createAdmin({ store, serverSecret: NEW }, 'shape', 'operator');
    const admins = directory([NEW]);
    lookups = 0;
    expect(await admins.find(mistyped(token), 0)).toBeUndefined();
    expect(await admins.find(generateApiKey('sandbox'), 0)).toBeUndefined();
    expect(await admins.find('', 0)).toBeUndefined();
    expect(lookups).toBe(0);
    expect(await admins.find(token, 0)).toMatchObject({ name: 'shape', role: 'operator' });
    expect(lookups).toBe(1);
  });

  it('caches for at most maxAgeMs: a revoked admin is refused once the bound has passed', async () => {
    const { token } = await createAdmin({ store, serverSecret: NEW }, 'carol', 'viewer');
    const admins = directory([NEW]);
    const t0 = 10_000;
    expect(await admins.find(token, t0)).toMatchObject({ name: 'carol', revokedAt: null });
    lookups = 0;
    await store.revokeAdmin('carol', Date.now());
    // Within the bound, from the cache: no lookup.
    expect(await admins.find(token, t0 + MAX_AGE_MS)).toMatchObject({ name: 'carol' });
    expect(lookups).toBe(0);
    expect(await admins.find(token, t0 + MAX_AGE_MS + 1)).toBeUndefined();
    expect(lookups).toBe(1);
    // A fresh directory (another node) refuses it at once.
    expect(await directory([NEW]).find(token, t0)).toBeUndefined();
  });

  it('finds a token hashed under an older secret and queues it to move to the current one', async () => {
    const { admin, token } = await createAdmin({ store, serverSecret: OLD }, 'dave', 'operator');
    const rehashes = new CredentialRehashes();
    expect(await directory([NEW, OLD], rehashes).find(token, 0)).toMatchObject({ name: 'dave' });
    const queued = rehashes.take().map((pending) => pending.rehash);
    expect(queued).toEqual([
      { kind: 'admin', id: 'dave', fromHash: admin.keyHash, toHash: hashApiKey(NEW, token) },
    ]);
    // Without the older secret it is unknown, until the move is made.
    expect(await directory([NEW]).find(token, 0)).toBeUndefined();
    expect(await store.rehashCredentials(queued)).toBe(1);
    expect(await directory([NEW]).find(token, 0)).toMatchObject({ name: 'dave' });
  });

  it('fails closed with store_unavailable when the store cannot be read', async () => {
    const { token } = await createAdmin({ store, serverSecret: NEW }, 'erin', 'operator');
    down = true;
    try {
      const failure = await directory([NEW])
        .find(token, 0)
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PortcullisError);
      expect(failure).toMatchObject({ code: 'store_unavailable' });
    } finally {
      down = false;
    }
  });
});
