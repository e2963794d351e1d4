import pg from 'pg';
import type {
  ApiKeyRecord,
  AuditEvent,
  AuditQuery,
  ChangeBatch,
  ClientCredentials,
  ClientRecord,
  ClientUpdate,
  IntrospectorRecord,
  NewClient,
  RevokedToken,
} from '../domain/records.js';
import { isKeyUsable } from '../domain/records.js';
import * as audit from './audit-entries.js';
import { pgMigrations } from './pg-migrations.js';
import {
  type ApiKeyRow,
  type AuditRow,
  type ClientRow,
  type IntrospectorRow,
  toApiKey,
  toAuditEvent,
  toClient,
  toIntrospector,
} from './rows.js';
import type { Store } from './store.js';

type Queryable = pg.Pool | pg.PoolClient;

/** Any constant: the lock that orders writers of the change feed (see `#changed`). */
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
 * Same tables and semantics as SqliteStore. A statement that cannot run (server down, timeout) rejects,
 * and the server fails closed on it.
 */
export class PgStore implements Store {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

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
    const store = new PgStore(pool);
    try {
      await store.#transaction((client) => migrate(client));
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
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

  /**
   * A transaction that writes to the change feed. It takes one lock before anything else, so that change
   * sequence numbers are allocated in commit order (a reader that has seen number N has seen every number
   * below it), and so that no two such transactions can wait for each other's row locks.
   */
  #changeTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [CHANGE_FEED_LOCK]);
      return work(client);
    });
  }

  /** Records that a client changed, with its audit entry, inside a `#changeTransaction`. */
  async #changed(client: pg.PoolClient, entry: audit.ClientChangeEntry): Promise<void> {
    await client.query('INSERT INTO changes (client_id, changed_at) VALUES ($1, $2)', [
      entry.clientId,
      entry.at,
    ]);
    await insertAudit(client, entry);
  }

  async createClient(input: NewClient): Promise<ClientRecord | undefined> {
    return this.#changeTransaction(async (client) => {
      const inserted = await client.query<ClientRow>(
        `INSERT INTO clients (client_id, name, status, token_ttl_seconds, rate_limits, created_at, updated_at)
         VALUES ($1, $2, 'active', $3, $4, $5, $5) ON CONFLICT DO NOTHING RETURNING *`,
        [input.clientId, input.name, input.tokenTtlSeconds, input.rateLimits, input.createdAt],
      );
      const row = inserted.rows[0];
      if (row === undefined) return undefined;
      await this.#changed(client, audit.clientCreated(input.clientId, input.createdAt));
      return toClient(row);
    });
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = (await this.#pool.query<ClientRow>('SELECT * FROM clients WHERE client_id = $1', [clientId]))
      .rows[0];
    return row && toClient(row);
  }

  async listClients(): Promise<ClientRecord[]> {
    return (await this.#pool.query<ClientRow>('SELECT * FROM clients ORDER BY client_id')).rows.map(toClient);
  }

  async updateClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientRecord | undefined> {
    return this.#changeTransaction(async (client) => {
      const row = (
        await client.query<ClientRow>('SELECT * FROM clients WHERE client_id = $1 FOR UPDATE', [clientId])
      ).rows[0];
      if (row === undefined) return undefined;
      const current = toClient(row);
      const status = update.status ?? current.status;
      const updated = await client.query<ClientRow>(
        `UPDATE clients SET name = $2, status = $3, token_ttl_seconds = $4, rate_limits = $5, profile = $6,
         updated_at = $7 WHERE client_id = $1 RETURNING *`,
        [
          clientId,
          update.name ?? current.name,
          status,
          update.tokenTtlSeconds === undefined ? current.tokenTtlSeconds : update.tokenTtlSeconds,
          update.rateLimits === undefined ? current.rateLimits : update.rateLimits,
          JSON.stringify(update.profile ?? current.profile),
          now,
        ],
      );
      await this.#changed(client, audit.clientUpdated(clientId, current.status, status, now));
      return toClient(updated.rows[0] as ClientRow);
    });
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    await this.#changeTransaction(async (client) => {
      await insertKey(client, key);
      await this.#changed(client, audit.keyCreated(key));
    });
  }

  async findKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = (await this.#pool.query<ApiKeyRow>('SELECT * FROM api_keys WHERE key_hash = $1', [keyHash]))
      .rows[0];
    return row && toApiKey(row);
  }

  async listApiKeys(clientId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.#pool.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE client_id = $1 ORDER BY created_at, key_id',
      [clientId],
    );
    return rows.rows.map(toApiKey);
  }

  async revokeApiKey(clientId: string, keyId: string, now: number): Promise<ApiKeyRecord | undefined> {
    return this.#changeTransaction(async (client) => {
      const row = await selectKeyForUpdate(client, clientId, keyId);
      if (row === undefined) return undefined;
      if (row.revoked_at !== null) return toApiKey(row);
      await this.#changed(client, audit.keyRevoked(clientId, keyId, now));
      return toApiKey(await setKey(client, keyId, 'revoked_at = $2', [now]));
    });
  }

  async rotateApiKey(
    clientId: string,
    keyId: string,
    replacement: ApiKeyRecord,
    oldEndsAt: number,
    now: number,
  ): Promise<{ readonly old: ApiKeyRecord; readonly replacement: ApiKeyRecord } | undefined> {
    return this.#changeTransaction(async (client) => {
      const row = await selectKeyForUpdate(client, clientId, keyId);
      if (row === undefined || !isKeyUsable(toApiKey(row), now)) return undefined;
      await this.#changed(client, audit.keyRotated(clientId, keyId, replacement.keyId, oldEndsAt, now));
      await insertKey(client, replacement);
      const old =
        oldEndsAt <= now
          ? await setKey(client, keyId, 'revoked_at = $2, replaced_by = $3', [now, replacement.keyId])
          : await setKey(
              client,
              keyId,
              'expires_at = LEAST(COALESCE(expires_at, $2), $2), replaced_by = $3',
              [oldEndsAt, replacement.keyId],
            );
      return { old: toApiKey(old), replacement };
    });
  }

  async markKeyExposed(clientId: string, keyId: string, now: number, revoke: boolean): Promise<void> {
    await this.#changeTransaction(async (client) => {
      const row = await selectKeyForUpdate(client, clientId, keyId);
      if (row === undefined) return;
      await this.#changed(client, audit.keyExposed(clientId, keyId, revoke, now));
      await setKey(client, keyId, 'exposed_at = COALESCE(exposed_at, $2)', [now]);
      if (revoke && row.revoked_at === null) {
        await setKey(client, keyId, 'revoked_at = $2', [now]);
        await insertAudit(client, audit.keyRevoked(clientId, keyId, now, 'exposed'));
      }
    });
  }

  async recordExpiredKeys(now: number): Promise<void> {
    await this.#transaction(async (client) => {
      const expired = await client.query<{ key_id: string; client_id: string; expires_at: number }>(
        `UPDATE api_keys SET expiry_recorded = TRUE
         WHERE NOT expiry_recorded AND expires_at <= $1 AND revoked_at IS NULL
         RETURNING key_id, client_id, expires_at`,
        [now],
      );
      for (const row of expired.rows) {
        await insertAudit(client, audit.keyExpired(row.client_id, row.key_id, row.expires_at));
      }
    });
  }

  async recordKeyUse(lastUsedByKeyId: ReadonlyMap<string, number>): Promise<void> {
    if (lastUsedByKeyId.size === 0) return;
    await this.#pool.query(
      `UPDATE api_keys SET last_used_at = used.at
       FROM unnest($1::text[], $2::bigint[]) AS used (key_id, at)
       WHERE api_keys.key_id = used.key_id AND (last_used_at IS NULL OR last_used_at < used.at)`,
      [[...lastUsedByKeyId.keys()], [...lastUsedByKeyId.values()]],
    );
  }

  async getClientCredentials(clientId: string): Promise<ClientCredentials | undefined> {
    // One statement, so one snapshot: the client, its keys and its revoked tokens agree.
    const result = await this.#pool.query<{ client: ClientRow; keys: ApiKeyRow[]; revoked: string[] }>(
      `SELECT row_to_json(c) AS client,
         COALESCE((SELECT json_agg(k ORDER BY k.created_at, k.key_id) FROM api_keys k
                   WHERE k.client_id = c.client_id), '[]') AS keys,
         COALESCE((SELECT json_agg(r.token_id) FROM revoked_tokens r
                   WHERE r.client_id = c.client_id), '[]') AS revoked
       FROM clients c WHERE c.client_id = $1`,
      [clientId],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return { client: toClient(row.client), keys: row.keys.map(toApiKey), revokedTokenIds: row.revoked };
  }

  async revokeToken(token: RevokedToken, now: number, reason: 'revoked' | 'exposed'): Promise<void> {
    await this.#changeTransaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO revoked_tokens (token_id, client_id, key_id, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id) DO NOTHING`,
        [token.tokenId, token.clientId, token.keyId, token.expiresAt, now],
      );
      if (inserted.rowCount === 0) return;
      await this.#changed(client, audit.tokenRevoked(token, reason, now));
    });
  }

  async createIntrospector(introspector: IntrospectorRecord): Promise<boolean> {
    return this.#transaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO introspectors (name, key_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING`,
        [introspector.name, introspector.keyHash, introspector.createdAt],
      );
      if (inserted.rowCount === 0) return false;
      await insertAudit(client, audit.introspectorCreated(introspector.name, introspector.createdAt));
      return true;
    });
  }

  async listIntrospectors(): Promise<IntrospectorRecord[]> {
    return (await this.#pool.query<IntrospectorRow>('SELECT * FROM introspectors ORDER BY name')).rows.map(
      toIntrospector,
    );
  }

  async findIntrospector(keyHash: string): Promise<IntrospectorRecord | undefined> {
    const row = (
      await this.#pool.query<IntrospectorRow>('SELECT * FROM introspectors WHERE key_hash = $1', [keyHash])
    ).rows[0];
    return row && toIntrospector(row);
  }

  async revokeIntrospector(name: string, now: number): Promise<IntrospectorRecord | undefined> {
    return this.#transaction(async (client) => {
      const revoked = await client.query<IntrospectorRow>(
        'UPDATE introspectors SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING *',
        [name, now],
      );
      if (revoked.rows[0] !== undefined) {
        await insertAudit(client, audit.introspectorRevoked(name, now));
        return toIntrospector(revoked.rows[0]);
      }
      const row = (await client.query<IntrospectorRow>('SELECT * FROM introspectors WHERE name = $1', [name]))
        .rows[0];
      return row && toIntrospector(row);
    });
  }

  async appendAuditEvents(events: readonly AuditEvent[]): Promise<void> {
    await this.#transaction(async (client) => {
      for (const entry of events) await insertAudit(client, entry);
    });
  }

  async pruneAudit(before: number, now: number): Promise<number> {
    return this.#transaction(async (client) => {
      await client.query("SELECT set_config('portcullis.audit_prune_before', $1, true)", [String(before)]);
      const deleted = await client.query(
        "DELETE FROM audit_events WHERE at < $1 AND type <> 'audit.pruned'",
        [before],
      );
      const removed = deleted.rowCount ?? 0;
      await insertAudit(client, audit.auditPruned(before, removed, now));
      return removed;
    });
  }

  async readAudit(query: AuditQuery): Promise<AuditEvent[]> {
    // The latest entries, oldest first; counted events written in slices, by several nodes, are summed.
    const result = await this.#pool.query<AuditRow>(
      `SELECT * FROM (
         SELECT at, type, client_id, key_id, source, SUM(count)::integer AS count, detail, MIN(id) AS first_id
         FROM audit_events
         WHERE at >= $1 AND ($2::text IS NULL OR client_id = $2)
         GROUP BY at, type, client_id, key_id, source, detail
         ORDER BY at DESC, first_id DESC
         LIMIT $3
       ) latest ORDER BY at, first_id`,
      [query.since ?? 0, query.clientId ?? null, query.limit],
    );
    return result.rows.map(toAuditEvent);
  }

  async pruneChanges(before: number): Promise<void> {
    await this.#pool.query('DELETE FROM changes WHERE changed_at < $1', [before]);
    await this.#pool.query('DELETE FROM revoked_tokens WHERE expires_at < $1', [before]);
  }

  async latestChange(): Promise<number> {
    const result = await this.#pool.query<{ latest: number }>(
      'SELECT COALESCE(MAX(sequence), 0)::bigint AS latest FROM changes',
    );
    return (result.rows[0] as { latest: number }).latest;
  }

  async changesSince(sequence: number): Promise<ChangeBatch> {
    const rows = (
      await this.#pool.query<{ sequence: number; client_id: string }>(
        'SELECT sequence, client_id FROM changes WHERE sequence > $1 ORDER BY sequence',
        [sequence],
      )
    ).rows;
    const last = rows.at(-1);
    return {
      latest: last === undefined ? sequence : last.sequence,
      clientIds: [...new Set(rows.map((row) => row.client_id))],
    };
  }

  async schemaVersion(): Promise<number> {
    const result = await this.#pool.query<{ version: number }>(
      'SELECT MAX(version) AS version FROM schema_migrations',
    );
    return (result.rows[0] as { version: number }).version;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

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
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [
      migration.version,
      Date.now(),
    ]);
  }
}

async function insertKey(client: Queryable, key: ApiKeyRecord): Promise<void> {
  await client.query(
    `INSERT INTO api_keys (key_id, client_id, alias, key_hash, environment, scope, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      key.keyId,
      key.clientId,
      key.alias,
      key.keyHash,
      key.environment,
      key.scope,
      key.createdAt,
      key.expiresAt,
    ],
  );
}

async function selectKeyForUpdate(
  client: pg.PoolClient,
  clientId: string,
  keyId: string,
): Promise<ApiKeyRow | undefined> {
  const result = await client.query<ApiKeyRow>(
    'SELECT * FROM api_keys WHERE key_id = $1 AND client_id = $2 FOR UPDATE',
    [keyId, clientId],
  );
  return result.rows[0];
}

/** `assignments` uses $2… for `values`; $1 is the key id. */
async function setKey(
  client: pg.PoolClient,
  keyId: string,
  assignments: string,
  values: readonly unknown[],
): Promise<ApiKeyRow> {
  const result = await client.query<ApiKeyRow>(
    `UPDATE api_keys SET ${assignments} WHERE key_id = $1 RETURNING *`,
    [keyId, ...values],
  );
  return result.rows[0] as ApiKeyRow;
}

async function insertAudit(client: Queryable, event: AuditEvent): Promise<void> {
  await client.query(
    `INSERT INTO audit_events (at, type, client_id, key_id, source, count, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      event.at,
      event.type,
      event.clientId,
      event.keyId,
      event.source,
      event.count,
      event.detail === null ? null : JSON.stringify(event.detail),
    ],
  );
}
