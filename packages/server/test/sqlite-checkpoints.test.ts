import { renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { AuditEvent } from '../src/domain/records.js';
import { SQLITE_FILE, SqliteStore } from '../src/store/sqlite-store.js';
import { tempDataDir, waitUntil } from './helpers/harness.js';
import { apiKeyRecord, newClient } from './helpers/records.js';

const T0 = Date.UTC(2026, 11, 1, 10, 0);

it("checkpoints what the server's own connection writes, once key usage is written in its thread", async () => {
  // Once the thread runs, the server's connection checkpoints only past a backstop (10 000 pages), so
  // that its commits do not hold the event loop for it: the thread must move that connection's log.
  const dataDir = tempDataDir();
  const store = new SqliteStore(dataDir);
  try {
    await store.recordKeyUse(new Map([['key_none', T0]]));
    const file = join(dataDir, SQLITE_FILE);
    const before = statSync(file).size;
    // About 3 000 pages of log in one commit: past SQLite's own threshold, below the backstop.
    const failed: AuditEvent = {
      at: T0,
      type: 'authentication.failed',
      clientId: null,
      keyId: null,
      source: '192.0.2.1',
      count: 1,
      detail: { note: 'x'.repeat(200) },
      actor: null,
    };
    await store.appendAuditEvents(Array.from({ length: 40_000 }, (_, i) => ({ ...failed, at: T0 + i })));
    const grown = async () => statSync(file).size > before + 8_000_000;
    expect(await grown()).toBe(false);
    await waitUntil(grown, 5_000);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it('writes key usage on its own connection when the thread fails, the write it was given included', async () => {
  // The thread opens the database file by its name, which here is moved away for a moment: the thread
  // fails to start (as it would out of file descriptors), while the server's connection, open already,
  // goes on.
  const dataDir = tempDataDir();
  const store = new SqliteStore(dataDir);
  const file = join(dataDir, SQLITE_FILE);
  try {
    await store.createClient(newClient({ clientId: 'acme', createdAt: T0 }));
    await store.createApiKey(
      apiKeyRecord({ clientId: 'acme', keyId: 'key_a', keyHash: 'hash-key_a', createdAt: T0 }),
    );
    renameSync(file, `${file}.away`);
    try {
      await store.recordKeyUse(new Map([['key_a', T0 + 10]]));
    } finally {
      renameSync(`${file}.away`, file);
    }
    expect((await store.findKeyByHash('hash-key_a'))?.lastUsedAt).toBe(T0 + 10);
    // And every write after it, without a thread.
    await store.recordKeyUse(new Map([['key_a', T0 + 20]]));
    expect((await store.findKeyByHash('hash-key_a'))?.lastUsedAt).toBe(T0 + 20);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
