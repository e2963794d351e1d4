import pg from 'pg';
import { pgMigrations } from './pg-migrations.js';
import type { ApiKeyRow, ClientRow } from './rows.js';
import type {
  CredentialRows,
  SqlDialect,
  SqlResult,
  SqlStep,
  Statements,
  TransactionKind,
  Work,
} from './sql-dialect.js';
import { SqlStore } from './sql-store.js';

/** Any constant: the lock that orders writers of the change feed (see `transaction`). */
const CHANGE_FEED_LOCK = 7_391_004;
/** Held while migrating, so that nodes starting together migrate once. */
const MIGRATION_LOCK = 7_391_005;

const INT8_OID = 20;
/** BIGINT columns hold epoch milliseconds and sequence numbers, all far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PgStoreOptions {
  /** How long to wait for a connection or a statement before failing (and the server refusing, 503). */
  readonly timeoutMs: number;
  /** Connections at most. Default 10. */
  readonly maxConnections?: number;
}

/**
 * The shared store for many nodes: PostgreSQL, through a connection pool that reconnects by itself.
 * Same tables and rules as SqliteStore. A statement that cannot run (server down, timeout) rejects, and
 * the server fails closed on it.
 */
export class PgStore extends SqlStore {
  /** Connects, applies pending migrations, and returns the store. */
  static async open(connectionString: string, options: PgStoreOptions): Promise<PgStore> {
    const pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.timeoutMs,
      query_timeout: options.timeoutMs,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle connection that breaks (server restart) is dropped by the pool; the next query reconnects.
    pool.on('error', () => undefined);
    try {
      await inTransaction(pool, migrate);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PgStore(new PgDialect(pool));
  }
}

class PgDialect implements SqlDialect {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async query(step: SqlStep): Promise<SqlResult> {
    return execute(this.#pool, step);
  }

  /**
   * A `change` transaction takes one lock before anything else, so that change sequence numbers are
   * allocated in commit order (a reader that has seen number N has seen every number below it), and so
   * that no two such transactions can wait for each other's row locks.
   */
  transaction<T>(kind: TransactionKind, work: () => Work<T>): Promise<T> {
    return inTransaction(this.#pool, async (client) => {
      if (kind === 'change') await client.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_FEED_LOCK]);
      const steps = work();
      let next = steps.next();
      while (!next.done) next = steps.next(await execute(client, next.value));
      return next.value;
    });
  }

  async credentials(clientId: string): Promise<CredentialRows | undefined> {
    // One statement, so one snapshot, in one round trip: the client, its keys and its revoked tokens agree.
    const result = await this.#pool.query<{ client: ClientRow; keys: ApiKeyRow[]; revoked: string[] }>(
      `SELECT row_to_json(c) AS client,
         COALESCE((SELECT json_agg(k ORDER BY k.created_at, k.key_id) FROM api_keys k
                   WHERE k.client_id = c.client_id AND k.deleted_at IS NULL), '[]') AS keys,
         COALESCE((SELECT json_agg(r.token_id) FROM revoked_tokens r
                   WHERE r.client_id = c.client_id), '[]') AS revoked
       FROM clients c WHERE c.client_id = $1`,
      [clientId],
    );
    const row = result.rows[0];
    return row && { client: row.client, keys: row.keys, revokedTokenIds: row.revoked };
  }

  /** The driver does not hold the event loop while PostgreSQL works: one statement, however many keys. */
  async touchKeys(used: string): Promise<void> {
    await execute(this.#pool, { statement: 'touchKeys', params: [used] });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

async function execute(on: pg.Pool | pg.PoolClient, step: SqlStep): Promise<SqlResult> {
  const result = await on.query(SQL[step.statement], step.params as unknown[]);
  return { rows: result.rows, changes: result.rowCount ?? 0 };
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** How long one migration may run: long enough for an index on a large table, short of hanging a start. */
const MIGRATION_TIMEOUT_MS = 10 * 60_000;

async function migrate(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await client.query(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
  );
  const applied = new Set(
    (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
      (r) => r.version,
    ),
  );
  for (const migration of pgMigrations) {
    if (applied.has(migration.version)) continue;
    // Not bound by the store's query timeout: building an index on a large table takes its time. The
    // driver reads `query_timeout` from a query's config before its own (pg/lib/client.js); its types
    // leave that out.
    const statement: pg.QueryConfig & { readonly query_timeout: number } = {
      text: migration.sql,
      query_timeout: MIGRATION_TIMEOUT_MS,
    };
    await client.query(statement);
    await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
      migration.version,
      Date.now(),
    ]);
  }
}

/** The statements in PostgreSQL's SQL; `Statements` says what each one takes and returns. */
const SQL: Statements = {
  insertClient: `INSERT INTO clients (client_id, name, status, token_ttl_seconds, rate_limits, created_at, updated_at)
    VALUES ($1, $2, 'active', $3, $4, $5, $5) ON CONFLICT DO NOTHING RETURNING *`,
  selectClient: 'SELECT * FROM clients WHERE client_id = $1',
  selectClients: 'SELECT * FROM clients WHERE deleted_at IS NULL ORDER BY client_id',
  selectClientForChange: 'SELECT * FROM clients WHERE client_id = $1 FOR UPDATE',
  updateClient: `UPDATE clients SET name = $2, status = $3, token_ttl_seconds = $4, rate_limits = $5, profile = $6,
    updated_at = $7 WHERE client_id = $1 RETURNING *`,

  insertKey: `INSERT INTO api_keys (key_id, client_id, alias, key_hash, environment, scope, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  selectKeysOfClient:
    'SELECT * FROM api_keys WHERE client_id = $1 AND deleted_at IS NULL ORDER BY created_at, key_id',
  selectKeyByHash: 'SELECT * FROM api_keys WHERE key_hash = $1 AND deleted_at IS NULL',
  selectKeyForChange: 'SELECT * FROM api_keys WHERE key_id = $1 AND client_id = $2 FOR UPDATE',
  revokeKey: 'UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 RETURNING *',
  endKeyNow: 'UPDATE api_keys SET revoked_at = $2, replaced_by = $3 WHERE key_id = $1 RETURNING *',
  endKeyAt: `UPDATE api_keys SET expires_at = LEAST(COALESCE(expires_at, $2), $2), replaced_by = $3
    WHERE key_id = $1 RETURNING *`,
  exposeKey: 'UPDATE api_keys SET exposed_at = COALESCE(exposed_at, $2) WHERE key_id = $1',
  markExpiredKeys: `UPDATE api_keys SET expiry_recorded = TRUE
    WHERE NOT expiry_recorded AND expires_at <= $1 AND revoked_at IS NULL AND deleted_at IS NULL
    RETURNING key_id, client_id, expires_at`,
  touchKeys: `UPDATE api_keys SET last_used_at = used.at
    FROM json_to_recordset($1::json) AS used (key_id text, at bigint)
    WHERE api_keys.key_id = used.key_id AND (last_used_at IS NULL OR last_used_at < used.at)`,

  deleteClient: 'UPDATE clients SET deleted_at = $2, updated_at = $2 WHERE client_id = $1 RETURNING *',
  deleteKeysOfClient: 'UPDATE api_keys SET deleted_at = $2 WHERE client_id = $1 AND deleted_at IS NULL',
  deleteKey: 'UPDATE api_keys SET deleted_at = $2 WHERE key_id = $1 RETURNING *',

  insertRevokedToken: `INSERT INTO revoked_tokens (token_id, client_id, key_id, expires_at, revoked_at)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id) DO NOTHING`,
  deleteExpiredRevokedTokens: 'DELETE FROM revoked_tokens WHERE expires_at < $1',

  insertIntrospector: `INSERT INTO introspectors (name, key_hash, created_at) VALUES ($1, $2, $3)
    ON CONFLICT (name) DO NOTHING`,
  selectIntrospector: 'SELECT * FROM introspectors WHERE name = $1',
  selectIntrospectors: 'SELECT * FROM introspectors ORDER BY name',
  selectIntrospectorByHash: 'SELECT * FROM introspectors WHERE key_hash = $1',
  revokeIntrospector:
    'UPDATE introspectors SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING *',

  insertAudit: `INSERT INTO audit_events (at, type, client_id, key_id, source, count, detail, actor)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  selectAudit: `SELECT * FROM (
      SELECT MIN(id) AS id, at, type, client_id, key_id, source, SUM(count)::integer AS count, detail, actor
      FROM audit_events
      WHERE at >= $1 AND ($2::text IS NULL OR client_id = $2) AND ($4::text IS NULL OR type = $4)
        AND ($5::bigint IS NULL OR at < $5)
      GROUP BY at, type, client_id, key_id, source, detail, actor
      ORDER BY at DESC, id DESC
      LIMIT $3
    ) latest ORDER BY at, id`,
  // The delete trigger lets through entries older than this transaction-local setting (migration 2).
  openAuditPrune: "SELECT set_config('portcullis.audit_prune_before', $1::text, true)",
  countAuditBefore:
    "SELECT COUNT(*)::int AS count FROM audit_events WHERE at < $1 AND type <> 'audit.pruned'",
  deleteAuditBefore: `DELETE FROM audit_events WHERE id IN
    (SELECT id FROM audit_events WHERE at < $1 AND type <> 'audit.pruned' ORDER BY at LIMIT $2)`,
  closeAuditPrune: "SELECT set_config('portcullis.audit_prune_before', '', true)",

  insertChange: 'INSERT INTO changes (client_id, changed_at) VALUES ($1, $2)',
  latestChange: 'SELECT COALESCE(MAX(sequence), 0)::bigint AS latest FROM changes',
  changesSince: 'SELECT sequence, client_id FROM changes WHERE sequence > $1 ORDER BY sequence',
  deleteOldChanges:
    'DELETE FROM changes WHERE sequence IN (SELECT sequence FROM changes WHERE changed_at < $1 ORDER BY changed_at LIMIT $2)',

  selectServerSecrets: 'SELECT fingerprint, state FROM server_secrets ORDER BY recorded_at, fingerprint',
  selectAnyClient: 'SELECT 1 AS found FROM clients LIMIT 1',
  retireServerSecret: `UPDATE server_secrets SET state = 'retired', retired_at = $2
    WHERE fingerprint = $1 AND state = 'current'`,
  // Any conflict, on the fingerprint or on the one current row (a racing node recorded its own), inserts nothing.
  insertServerSecret: `INSERT INTO server_secrets (fingerprint, state, recorded_at) VALUES ($1, 'current', $2)
    ON CONFLICT DO NOTHING`,
  rehashKey: 'UPDATE api_keys SET key_hash = $3 WHERE key_id = $1 AND key_hash = $2',
  rehashIntrospector: 'UPDATE introspectors SET key_hash = $3 WHERE name = $1 AND key_hash = $2',

  schemaVersion: 'SELECT MAX(version) AS version FROM schema_migrations',

  // Admin credentials, paged listings (issue 13).
  insertAdmin: `INSERT INTO admins (name, key_hash, role, created_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT DO NOTHING`,
  selectAdmin: 'SELECT * FROM admins WHERE name = $1',
  selectAdmins: 'SELECT * FROM admins ORDER BY name',
  selectAdminByHash: 'SELECT * FROM admins WHERE key_hash = $1',
  revokeAdmin: 'UPDATE admins SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING *',
  rehashAdmin: 'UPDATE admins SET key_hash = $3 WHERE name = $1 AND key_hash = $2',

  // Dashboard sessions (issue 14).
  insertAdminSession: `INSERT INTO admin_sessions (id_hash, admin_name, csrf_token, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5)`,
  selectAdminSession: `SELECT s.csrf_token, s.expires_at, a.* FROM admin_sessions s
    JOIN admins a ON a.name = s.admin_name
    WHERE s.id_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2`,
  endAdminSession: 'UPDATE admin_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL',
  deleteEndedAdminSessions:
    'DELETE FROM admin_sessions WHERE expires_at < $1 OR (ended_at IS NOT NULL AND ended_at < $1)',

  // Bytewise order (COLLATE "C"), as SQLite's, so that a cursor means the same on both. starts_with takes no
  // character as a wildcard, unlike LIKE.
  selectClientsPage: `SELECT * FROM clients WHERE deleted_at IS NULL AND client_id COLLATE "C" > $2
      AND ($3::text IS NULL OR starts_with(client_id, $3) OR starts_with(name, $3))
    ORDER BY client_id COLLATE "C" LIMIT $1`,
  selectAuditAfter: `SELECT id, at, type, client_id, key_id, source, count, detail, actor FROM audit_events
    WHERE id > $1 AND at >= $2 AND ($3::text IS NULL OR client_id = $3) AND ($4::text IS NULL OR type = $4)
      AND ($5::bigint IS NULL OR at < $5)
    ORDER BY id LIMIT $6`,
  selectAuditBefore: `SELECT id, at, type, client_id, key_id, source, count, detail, actor FROM audit_events
    WHERE id < $1 AND at >= $2 AND ($3::text IS NULL OR client_id = $3) AND ($4::text IS NULL OR type = $4)
      AND ($5::bigint IS NULL OR at < $5)
    ORDER BY id DESC LIMIT $6`,
};
