import { join } from 'node:path';
import Database from 'better-sqlite3';
import { preparePrivateDirectory, tightenFile } from './data-directory.js';
import { sqliteMigrations } from './migrations.js';
import type { ApiKeyRow, ClientRow } from './rows.js';
import type {
  CredentialRows,
  SqlDialect,
  SqlResult,
  SqlStep,
  SqlValue,
  StatementName,
  Statements,
  TransactionKind,
  Work,
} from './sql-dialect.js';
import { SqlStore } from './sql-store.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';

export const SQLITE_FILE = 'portcullis.sqlite';

/** SQLite's own default: a commit that leaves this many pages of log or more checkpoints them. */
const SQLITE_CHECKPOINT_PAGES = 1000;
/**
 * This connection's threshold while the key-usage thread runs the checkpoints (every second, and after
 * its own commits): reached only if the thread falls behind by about 40 MB of log.
 */
const BACKSTOP_CHECKPOINT_PAGES = 10_000;

/**
 * The embedded store: one SQLite file in WAL mode, so that the server reads while the CLI writes.
 * `synchronous = NORMAL` keeps every committed transaction through a process crash (SIGKILL); only a
 * power loss can take back the last commits, which is the usual trade for an embedded server.
 */
export class SqliteStore extends SqlStore {
  /**
   * @param busyTimeoutMs how long a statement waits for another process's lock before it fails; the
   *   server then refuses with 503 rather than wait longer.
   */
  constructor(dataDir: string, busyTimeoutMs = 5000) {
    super(new SqliteDialect(dataDir, busyTimeoutMs));
  }
}

class SqliteDialect implements SqlDialect {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #statements: Readonly<Record<StatementName, Database.Statement>>;
  readonly #selectRevokedTokens: Database.Statement<[string], string>;
  /** Writes key usage from the first time it is asked to (a server) until it fails or the store closes. */
  #keyUseWriter: SqliteWriterThread | undefined;
  /** Once the thread has failed, or the store is closing: key usage is written on this connection. */
  #keyUseHere = false;

  constructor(dataDir: string, busyTimeoutMs: number) {
    preparePrivateDirectory(dataDir);
    const path = join(dataDir, SQLITE_FILE);
    this.#path = path;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#db = new Database(path);
    // Before WAL mode: SQLite gives the -wal and -shm files the database file's mode.
    tightenFile(path);
    this.#db.pragma('journal_mode = WAL');
    tightenFile(`${path}-wal`);
    tightenFile(`${path}-shm`);
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    this.#db.pragma('foreign_keys = ON');
    migrate(this.#db);
    const db = this.#db;
    this.#statements = Object.fromEntries(
      Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)]),
    ) as Record<StatementName, Database.Statement>;
    this.#selectRevokedTokens = db
      .prepare<[string], string>('SELECT token_id FROM revoked_tokens WHERE client_id = ?')
      .pluck();
  }

  #execute(step: SqlStep): SqlResult {
    const statement = this.#statements[step.statement];
    const params = numbered(step.params);
    if (statement.reader) {
      const rows = statement.all(params);
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: statement.run(params).changes };
  }

  async query(step: SqlStep): Promise<SqlResult> {
    return this.#execute(step);
  }

  /**
   * The whole unit of work runs synchronously, so nothing else on this connection slips into it. It takes
   * the write lock first (BEGIN IMMEDIATE): a transaction that read first and then wrote could not wait
   * for another process's lock, and would fail at once. One writer at a time also commits change-feed
   * rows in sequence order, so `change` transactions need no lock of their own.
   */
  async transaction<T>(_kind: TransactionKind, work: () => Work<T>): Promise<T> {
    return this.#db
      .transaction(() => {
        const steps = work();
        let next = steps.next();
        while (!next.done) next = steps.next(this.#execute(next.value));
        return next.value;
      })
      .immediate();
  }

  async credentials(clientId: string): Promise<CredentialRows | undefined> {
    const s = this.#statements;
    // One read transaction, so one snapshot: the client, its keys and its revoked tokens agree.
    return this.#db.transaction(() => {
      const client = s.selectClient.get(numbered([clientId])) as ClientRow | undefined;
      if (client === undefined) return undefined;
      return {
        client,
        keys: s.selectKeysOfClient.all(numbered([clientId])) as ApiKeyRow[],
        revokedTokenIds: this.#selectRevokedTokens.all(clientId),
      };
    })();
  }

  /**
   * Key usage is the largest write a server makes (every key used in the last 5 s), in a thread of its
   * own, which also runs the checkpoints: they fall to whichever connection commits past the threshold,
   * and this one's is raised to a backstop. Back on this connection if the thread fails.
   */
  async touchKeys(used: string): Promise<void> {
    if (this.#keyUseWriter === undefined && !this.#keyUseHere) {
      this.#keyUseWriter = new SqliteWriterThread(
        { file: this.#path, statement: SQL.touchKeys, busyTimeoutMs: this.#busyTimeoutMs },
        () => {
          this.#keyUseWriter = undefined;
          this.#keyUseHere = true;
          this.#db.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
        },
      );
      this.#db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
    }
    const writer = this.#keyUseWriter;
    if (writer === undefined) {
      this.#execute({ statement: 'touchKeys', params: [used] });
      return;
    }
    try {
      await writer.run(numbered([used]));
    } catch (error) {
      // The thread ended with this write on its way: written here, rather than lost (writing a last use
      // again moves nothing back). A statement that failed in a live thread fails as it would here.
      if (!writer.gone) throw error;
      this.#execute({ statement: 'touchKeys', params: [used] });
    }
  }

  async close(): Promise<void> {
    const writer = this.#keyUseWriter;
    this.#keyUseWriter = undefined;
    this.#keyUseHere = true;
    await writer?.close();
    this.#db.close();
  }
}

/** better-sqlite3 binds `?1`, `?2`… by name: `{ 1: …, 2: … }`. */
function numbered(params: readonly SqlValue[]): Record<number, SqlValue> {
  const named: Record<number, SqlValue> = {};
  params.forEach((value, index) => {
    named[index + 1] = value;
  });
  return named;
}

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)',
  );
  // IMMEDIATE takes the write lock first, so two processes starting together migrate once.
  db.transaction(() => {
    const applied = new Set(
      (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    for (const migration of sqliteMigrations) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        Date.now(),
      );
    }
  }).immediate();
}

/** The statements in SQLite's SQL; `Statements` says what each one takes and returns. */
const SQL: Statements = {
  insertClient: `INSERT INTO clients (client_id, name, status, token_ttl_seconds, rate_limits, created_at, updated_at)
    VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?5) ON CONFLICT DO NOTHING RETURNING *`,
  selectClient: 'SELECT * FROM clients WHERE client_id = ?1',
  selectClients: 'SELECT * FROM clients WHERE deleted_at IS NULL ORDER BY client_id',
  // The write transaction holds the database's one write lock: no row lock is needed.
  selectClientForChange: 'SELECT * FROM clients WHERE client_id = ?1',
  updateClient: `UPDATE clients SET name = ?2, status = ?3, token_ttl_seconds = ?4, rate_limits = ?5, profile = ?6,
    updated_at = ?7 WHERE client_id = ?1 RETURNING *`,

  insertKey: `INSERT INTO api_keys (key_id, client_id, alias, key_hash, environment, scope, created_at, expires_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
  selectKeysOfClient:
    'SELECT * FROM api_keys WHERE client_id = ?1 AND deleted_at IS NULL ORDER BY created_at, key_id',
  selectKeyByHash: 'SELECT * FROM api_keys WHERE key_hash = ?1 AND deleted_at IS NULL',
  selectKeyForChange: 'SELECT * FROM api_keys WHERE key_id = ?1 AND client_id = ?2',
  revokeKey: 'UPDATE api_keys SET revoked_at = ?2 WHERE key_id = ?1 RETURNING *',
  endKeyNow: 'UPDATE api_keys SET revoked_at = ?2, replaced_by = ?3 WHERE key_id = ?1 RETURNING *',
  endKeyAt: `UPDATE api_keys SET expires_at = MIN(COALESCE(expires_at, ?2), ?2), replaced_by = ?3
    WHERE key_id = ?1 RETURNING *`,
  exposeKey: 'UPDATE api_keys SET exposed_at = COALESCE(exposed_at, ?2) WHERE key_id = ?1',
  markExpiredKeys: `UPDATE api_keys SET expiry_recorded = 1
    WHERE expiry_recorded = 0 AND expires_at <= ?1 AND revoked_at IS NULL AND deleted_at IS NULL
    RETURNING key_id, client_id, expires_at`,
  touchKeys: `UPDATE api_keys SET last_used_at = used.at
    FROM (SELECT value ->> '$.key_id' AS key_id, value ->> '$.at' AS at FROM json_each(?1)) AS used
    WHERE api_keys.key_id = used.key_id AND (last_used_at IS NULL OR last_used_at < used.at)`,

  deleteClient: 'UPDATE clients SET deleted_at = ?2, updated_at = ?2 WHERE client_id = ?1 RETURNING *',
  deleteKeysOfClient: 'UPDATE api_keys SET deleted_at = ?2 WHERE client_id = ?1 AND deleted_at IS NULL',
  deleteKey: 'UPDATE api_keys SET deleted_at = ?2 WHERE key_id = ?1 RETURNING *',

  insertRevokedToken: `INSERT INTO revoked_tokens (token_id, client_id, key_id, expires_at, revoked_at)
    VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (token_id) DO NOTHING`,
  deleteExpiredRevokedTokens: 'DELETE FROM revoked_tokens WHERE expires_at < ?1',

  insertIntrospector: `INSERT INTO introspectors (name, key_hash, created_at) VALUES (?1, ?2, ?3)
    ON CONFLICT (name) DO NOTHING`,
  selectIntrospector: 'SELECT * FROM introspectors WHERE name = ?1',
  selectIntrospectors: 'SELECT * FROM introspectors ORDER BY name',
  selectIntrospectorByHash: 'SELECT * FROM introspectors WHERE key_hash = ?1',
  revokeIntrospector:
    'UPDATE introspectors SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL RETURNING *',

  insertAudit: `INSERT INTO audit_events (at, type, client_id, key_id, source, count, detail, actor)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
  selectAudit: `SELECT * FROM (
      SELECT MIN(id) AS id, at, type, client_id, key_id, source, SUM(count) AS count, detail, actor
      FROM audit_events
      WHERE at >= ?1 AND (?2 IS NULL OR client_id = ?2) AND (?4 IS NULL OR type = ?4) AND (?5 IS NULL OR at < ?5)
      GROUP BY at, type, client_id, key_id, source, detail, actor
      ORDER BY at DESC, id DESC
      LIMIT ?3
    ) ORDER BY at, id`,
  // The delete trigger lets through entries older than a cutoff written here (migration 3).
  openAuditPrune: 'INSERT INTO audit_prune_cutoff (cutoff) VALUES (?1)',
  countAuditBefore: "SELECT COUNT(*) AS count FROM audit_events WHERE at < ?1 AND type <> 'audit.pruned'",
  deleteAuditBefore: `DELETE FROM audit_events WHERE id IN
    (SELECT id FROM audit_events WHERE at < ?1 AND type <> 'audit.pruned' ORDER BY at LIMIT ?2)`,
  closeAuditPrune: 'DELETE FROM audit_prune_cutoff',

  insertChange: 'INSERT INTO changes (client_id, changed_at) VALUES (?1, ?2)',
  latestChange: 'SELECT COALESCE(MAX(sequence), 0) AS latest FROM changes',
  changesSince: 'SELECT sequence, client_id FROM changes WHERE sequence > ?1 ORDER BY sequence',
  deleteOldChanges:
    'DELETE FROM changes WHERE sequence IN (SELECT sequence FROM changes WHERE changed_at < ?1 ORDER BY changed_at LIMIT ?2)',

  selectServerSecrets: 'SELECT fingerprint, state FROM server_secrets ORDER BY recorded_at, fingerprint',
  selectAnyClient: 'SELECT 1 AS found FROM clients LIMIT 1',
  retireServerSecret: `UPDATE server_secrets SET state = 'retired', retired_at = ?2
    WHERE fingerprint = ?1 AND state = 'current'`,
  // Any conflict, on the fingerprint or on the one current row (a racing node recorded its own), inserts nothing.
  insertServerSecret: `INSERT INTO server_secrets (fingerprint, state, recorded_at) VALUES (?1, 'current', ?2)
    ON CONFLICT DO NOTHING`,
  rehashKey: 'UPDATE api_keys SET key_hash = ?3 WHERE key_id = ?1 AND key_hash = ?2',
  rehashIntrospector: 'UPDATE introspectors SET key_hash = ?3 WHERE name = ?1 AND key_hash = ?2',

  schemaVersion: 'SELECT MAX(version) AS version FROM schema_migrations',

  // Admin credentials, paged listings (issue 13).
  insertAdmin: `INSERT INTO admins (name, key_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT DO NOTHING`,
  selectAdmin: 'SELECT * FROM admins WHERE name = ?1',
  selectAdmins: 'SELECT * FROM admins ORDER BY name',
  selectAdminByHash: 'SELECT * FROM admins WHERE key_hash = ?1',
  revokeAdmin: 'UPDATE admins SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL RETURNING *',
  rehashAdmin: 'UPDATE admins SET key_hash = ?3 WHERE name = ?1 AND key_hash = ?2',

  // Dashboard sessions (issue 14).
  insertAdminSession: `INSERT INTO admin_sessions (id_hash, admin_name, csrf_token, created_at, expires_at)
    VALUES (?1, ?2, ?3, ?4, ?5)`,
  selectAdminSession: `SELECT s.csrf_token, s.expires_at, a.* FROM admin_sessions s
    JOIN admins a ON a.name = s.admin_name
    WHERE s.id_hash = ?1 AND s.ended_at IS NULL AND s.expires_at > ?2`,
  endAdminSession: 'UPDATE admin_sessions SET ended_at = ?2 WHERE id_hash = ?1 AND ended_at IS NULL',
  deleteEndedAdminSessions:
    'DELETE FROM admin_sessions WHERE expires_at < ?1 OR (ended_at IS NOT NULL AND ended_at < ?1)',

  // A prefix is compared as leading characters, not with LIKE: LIKE ignores case in SQLite, and takes % and _
  // as wildcards.
  selectClientsPage: `SELECT * FROM clients WHERE deleted_at IS NULL AND client_id > ?2
      AND (?3 IS NULL OR substr(client_id, 1, length(?3)) = ?3 OR substr(name, 1, length(?3)) = ?3)
    ORDER BY client_id LIMIT ?1`,
  selectAuditAfter: `SELECT id, at, type, client_id, key_id, source, count, detail, actor FROM audit_events
    WHERE id > ?1 AND at >= ?2 AND (?3 IS NULL OR client_id = ?3) AND (?4 IS NULL OR type = ?4)
      AND (?5 IS NULL OR at < ?5)
    ORDER BY id LIMIT ?6`,
  selectAuditBefore: `SELECT id, at, type, client_id, key_id, source, count, detail, actor FROM audit_events
    WHERE id < ?1 AND at >= ?2 AND (?3 IS NULL OR client_id = ?3) AND (?4 IS NULL OR type = ?4)
      AND (?5 IS NULL OR at < ?5)
    ORDER BY id DESC LIMIT ?6`,
};
