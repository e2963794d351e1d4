import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { SQLITE_FILE, SqliteStore } from '../src/store/sqlite-store.js';
import { tempDataDir } from './helpers/harness.js';

const T0 = Date.UTC(2026, 11, 1, 10, 0);
const DAY = 86_400_000;

/**
 * Another process writing while the trail is pruned, as a server does on the same SQLite file: a short
 * write transaction every 50 ms, waiting for the lock as the server's connection does (busy_timeout),
 * synchronously. Prints the longest wait, in ms, when told to stop.
 */
const WRITER = `
const Database = require(process.env.DRIVER);
const db = new Database(process.env.FILE);
db.pragma('busy_timeout = 5000');
const write = db.prepare('DELETE FROM admin_sessions WHERE expires_at < 0');
let longest = 0;
const timer = setInterval(() => {
  const started = performance.now();
  db.transaction(() => write.run()).immediate();
  longest = Math.max(longest, performance.now() - started);
}, 50);
process.stdin.on('data', () => {
  clearInterval(timer);
  process.stdout.write(String(Math.round(longest)));
  process.exit(0);
});
`;

it('prunes a large trail in batches: a writer of the same file waits a batch at most, not the whole prune', async () => {
  // Pruned in one transaction, 2 000 000 entries held the write lock 3.7 s, and a server's write waited
  // 2.7 s with its event loop held (issue 15); 600 000 here.
  const dataDir = tempDataDir();
  const store = new SqliteStore(dataDir);
  const file = join(dataDir, SQLITE_FILE);
  try {
    const db = new Database(file);
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600000)
       INSERT INTO audit_events (at, type, client_id, count) SELECT ? + i, 'tokens.issued', 'acme', 1 FROM n`,
    ).run(T0 - 200 * DAY);
    db.close();
    const writer = spawn(process.execPath, ['-e', WRITER], {
      env: { ...process.env, DRIVER: createRequire(import.meta.url).resolve('better-sqlite3'), FILE: file },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let printed = '';
    writer.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const removed = await store.pruneAudit(T0 - 100 * DAY, T0);
    writer.stdin.write('stop\n');
    await exited;
    expect(removed).toBe(600_000);
    const [record] = await store.readAudit({ type: 'audit.pruned', limit: 1 });
    expect(record?.detail).toEqual({ before: new Date(T0 - 100 * DAY).toISOString(), removed: 600_000 });
    expect(printed).toMatch(/^\d+$/);
    expect(Number(printed)).toBeLessThan(300);
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
