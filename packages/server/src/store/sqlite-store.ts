import { join } from 'node:path';
import Database from 'better-sqlite3';
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
import { preparePrivateDirectory, tightenFile } from './data-directory.js';
import { sqliteMigrations } from './migrations.js';
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

export const SQLITE_FILE = 'portcullis.sqlite';

/**
 * The embedded store: one SQLite file in WAL mode, so that the server reads while the CLI writes.
 * `synchronous = NORMAL` keeps every committed transaction through a process crash (SIGKILL); only a
 * power loss can take back the last commits, which is the usual trade for an embedded server.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #statements;

  /**
   * @param busyTimeoutMs how long a statement waits for another process's lock before it fails; the
   *   server then refuses with 503 rather than wait longer.
   */
  constructor(dataDir: string, busyTimeoutMs = 5000) {
    preparePrivateDirectory(dataDir);
    const path = join(dataDir, SQLITE_FILE);
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
    this.#statements = prepareStatements(this.#db);
  }

  /**
   * Runs `work` in a write transaction that takes the write lock first (BEGIN IMMEDIATE): a transaction
   * that read first and then wrote could not wait for another process's lock, and would fail at once.
   */
  #write<T>(work: () => T): T {
    return this.#db.transaction(work).immediate();
  }

  /** Records that a client changed, with its audit entry, inside the caller's transaction. */
  #changed(entry: audit.ClientChangeEntry): void {
    this.#statements.insertChange.run(entry.clientId, entry.at);
    this.#audit(entry);
  }

  #audit(event: AuditEvent): void {
    this.#statements.insertAudit.run({
      at: event.at,
      type: event.type,
      client_id: event.clientId,
      key_id: event.keyId,
      source: event.source,
      count: event.count,
      detail: event.detail === null ? null : JSON.stringify(event.detail),
    });
  }

  async createClient(client: NewClient): Promise<ClientRecord | undefined> {
    const s = this.#statements;
    return this.#write(() => {
      const inserted = s.insertClient.run({
        client_id: client.clientId,
        name: client.name,
        token_ttl_seconds: client.tokenTtlSeconds,
        rate_limits: client.rateLimits,
        created_at: client.createdAt,
      });
      if (inserted.changes === 0) return undefined;
      this.#changed(audit.clientCreated(client.clientId, client.createdAt));
      return toClient(s.selectClient.get(client.clientId) as ClientRow);
    });
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = this.#statements.selectClient.get(clientId) as ClientRow | undefined;
    return row && toClient(row);
  }

  async listClients(): Promise<ClientRecord[]> {
    return (this.#statements.selectClients.all() as ClientRow[]).map(toClient);
  }

  async updateClient(clientId: string, update: ClientUpdate, now: number): Promise<ClientRecord | undefined> {
    const s = this.#statements;
    return this.#write(() => {
      const row = s.selectClient.get(clientId) as ClientRow | undefined;
      if (row === undefined) return undefined;
      const current = toClient(row);
      const status = update.status ?? current.status;
      s.updateClient.run({
        client_id: clientId,
        name: update.name ?? current.name,
        status,
        token_ttl_seconds:
          update.tokenTtlSeconds === undefined ? current.tokenTtlSeconds : update.tokenTtlSeconds,
        rate_limits: update.rateLimits === undefined ? current.rateLimits : update.rateLimits,
        profile: JSON.stringify(update.profile ?? current.profile),
        updated_at: now,
      });
      this.#changed(audit.clientUpdated(clientId, current.status, status, now));
      return toClient(s.selectClient.get(clientId) as ClientRow);
    });
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    this.#write(() => {
      this.#insertKey(key);
      this.#changed(audit.keyCreated(key));
    });
  }

  #insertKey(key: ApiKeyRecord): void {
    this.#statements.insertApiKey.run({
      key_id: key.keyId,
      client_id: key.clientId,
      alias: key.alias,
      key_hash: key.keyHash,
      environment: key.environment,
      scope: key.scope,
      created_at: key.createdAt,
      expires_at: key.expiresAt,
    });
  }

  async listApiKeys(clientId: string): Promise<ApiKeyRecord[]> {
    return (this.#statements.selectKeysOfClient.all(clientId) as ApiKeyRow[]).map(toApiKey);
  }

  async findKeyByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.#statements.selectKeyByHash.get(keyHash) as ApiKeyRow | undefined;
    return row && toApiKey(row);
  }

  async revokeApiKey(clientId: string, keyId: string, now: number): Promise<ApiKeyRecord | undefined> {
    const s = this.#statements;
    return this.#write(() => {
      const row = s.selectKey.get(keyId, clientId) as ApiKeyRow | undefined;
      if (row === undefined) return undefined;
      if (row.revoked_at === null) {
        s.revokeKey.run(now, keyId);
        this.#changed(audit.keyRevoked(clientId, keyId, now));
      }
      return toApiKey(s.selectKey.get(keyId, clientId) as ApiKeyRow);
    });
  }

  async rotateApiKey(
    clientId: string,
    keyId: string,
    replacement: ApiKeyRecord,
    oldEndsAt: number,
    now: number,
  ): Promise<{ readonly old: ApiKeyRecord; readonly replacement: ApiKeyRecord } | undefined> {
    const s = this.#statements;
    return this.#write(() => {
      const row = s.selectKey.get(keyId, clientId) as ApiKeyRow | undefined;
      if (row === undefined || !isKeyUsable(toApiKey(row), now)) return undefined;
      this.#insertKey(replacement);
      if (oldEndsAt <= now) s.revokeKey.run(now, keyId);
      else s.shortenKey.run({ ends_at: oldEndsAt, key_id: keyId });
      s.setReplacedBy.run(replacement.keyId, keyId);
      this.#changed(audit.keyRotated(clientId, keyId, replacement.keyId, oldEndsAt, now));
      return {
        old: toApiKey(s.selectKey.get(keyId, clientId) as ApiKeyRow),
        replacement: toApiKey(s.selectKey.get(replacement.keyId, clientId) as ApiKeyRow),
      };
    });
  }

  async markKeyExposed(clientId: string, keyId: string, now: number, revoke: boolean): Promise<void> {
    const s = this.#statements;
    this.#write(() => {
      const row = s.selectKey.get(keyId, clientId) as ApiKeyRow | undefined;
      if (row === undefined) return;
      if (row.exposed_at === null) s.exposeKey.run(now, keyId);
      this.#changed(audit.keyExposed(clientId, keyId, revoke, now));
      if (revoke && row.revoked_at === null) {
        s.revokeKey.run(now, keyId);
        this.#audit(audit.keyRevoked(clientId, keyId, now, 'exposed'));
      }
    });
  }

  async recordExpiredKeys(now: number): Promise<void> {
    const s = this.#statements;
    this.#write(() => {
      for (const row of s.markExpired.all(now) as {
        key_id: string;
        client_id: string;
        expires_at: number;
      }[]) {
        this.#audit(audit.keyExpired(row.client_id, row.key_id, row.expires_at));
      }
    });
  }

  async recordKeyUse(lastUsedByKeyId: ReadonlyMap<string, number>): Promise<void> {
    const s = this.#statements;
    this.#write(() => {
      for (const [keyId, at] of lastUsedByKeyId) s.touchKey.run(at, keyId, at);
    });
  }

  async getClientCredentials(clientId: string): Promise<ClientCredentials | undefined> {
    const s = this.#statements;
    return this.#db.transaction(() => {
      const row = s.selectClient.get(clientId) as ClientRow | undefined;
      if (row === undefined) return undefined;
      return {
        client: toClient(row),
        keys: (s.selectKeysOfClient.all(clientId) as ApiKeyRow[]).map(toApiKey),
        revokedTokenIds: s.selectRevokedTokens.pluck().all(clientId) as string[],
      };
    })();
  }

  async revokeToken(token: RevokedToken, now: number, reason: 'revoked' | 'exposed'): Promise<void> {
    this.#write(() => {
      const inserted = this.#statements.insertRevokedToken.run({
        token_id: token.tokenId,
        client_id: token.clientId,
        key_id: token.keyId,
        expires_at: token.expiresAt,
        revoked_at: now,
      });
      if (inserted.changes === 0) return;
      this.#changed(audit.tokenRevoked(token, reason, now));
    });
  }

  async createIntrospector(introspector: IntrospectorRecord): Promise<boolean> {
    return this.#write(() => {
      const inserted = this.#statements.insertIntrospector.run({
        name: introspector.name,
        key_hash: introspector.keyHash,
        created_at: introspector.createdAt,
      });
      if (inserted.changes === 0) return false;
      this.#audit(audit.introspectorCreated(introspector.name, introspector.createdAt));
      return true;
    });
  }

  async listIntrospectors(): Promise<IntrospectorRecord[]> {
    return (this.#statements.selectIntrospectors.all() as IntrospectorRow[]).map(toIntrospector);
  }

  async findIntrospector(keyHash: string): Promise<IntrospectorRecord | undefined> {
    const row = this.#statements.selectIntrospectorByHash.get(keyHash) as IntrospectorRow | undefined;
    return row && toIntrospector(row);
  }

  async revokeIntrospector(name: string, now: number): Promise<IntrospectorRecord | undefined> {
    const s = this.#statements;
    return this.#write(() => {
      const row = s.selectIntrospector.get(name) as IntrospectorRow | undefined;
      if (row === undefined) return undefined;
      if (row.revoked_at === null) {
        s.revokeIntrospector.run(now, name);
        this.#audit(audit.introspectorRevoked(name, now));
      }
      return toIntrospector(s.selectIntrospector.get(name) as IntrospectorRow);
    });
  }

  async appendAuditEvents(events: readonly AuditEvent[]): Promise<void> {
    this.#write(() => {
      for (const entry of events) this.#audit(entry);
    });
  }

  async readAudit(query: AuditQuery): Promise<AuditEvent[]> {
    const rows = this.#statements.selectAudit.all({
      client_id: query.clientId ?? null,
      since: query.since ?? 0,
      limit: query.limit,
    }) as AuditRow[];
    return rows.map(toAuditEvent);
  }

  async pruneAudit(before: number, now: number): Promise<number> {
    const s = this.#statements;
    return this.#write(() => {
      s.insertPruneCutoff.run(before);
      const removed = s.deleteAuditBefore.run(before).changes;
      s.deletePruneCutoff.run();
      this.#audit(audit.auditPruned(before, removed, now));
      return removed;
    });
  }

  async pruneChanges(before: number): Promise<void> {
    const s = this.#statements;
    this.#write(() => {
      s.deleteOldChanges.run(before);
      s.deleteExpiredRevokedTokens.run(before);
    });
  }

  async latestChange(): Promise<number> {
    return (this.#statements.latestChange.get() as { latest: number }).latest;
  }

  async changesSince(sequence: number): Promise<ChangeBatch> {
    const rows = this.#statements.changesSince.all(sequence) as { sequence: number; client_id: string }[];
    const last = rows.at(-1);
    return {
      latest: last === undefined ? sequence : last.sequence,
      clientIds: [...new Set(rows.map((row) => row.client_id))],
    };
  }

  async schemaVersion(): Promise<number> {
    return this.#db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number;
  }

  async close(): Promise<void> {
    this.#db.close();
  }
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

function prepareStatements(db: Database.Database) {
  return {
    insertClient: db.prepare(
      `INSERT INTO clients (client_id, name, status, token_ttl_seconds, rate_limits, created_at, updated_at)
       VALUES (@client_id, @name, 'active', @token_ttl_seconds, @rate_limits, @created_at, @created_at)
       ON CONFLICT DO NOTHING`,
    ),
    selectClient: db.prepare('SELECT * FROM clients WHERE client_id = ?'),
    selectClients: db.prepare('SELECT * FROM clients ORDER BY client_id'),
    updateClient: db.prepare(
      `UPDATE clients SET name = @name, status = @status, token_ttl_seconds = @token_ttl_seconds,
       rate_limits = @rate_limits, profile = @profile, updated_at = @updated_at WHERE client_id = @client_id`,
    ),
    insertApiKey: db.prepare(
      `INSERT INTO api_keys (key_id, client_id, alias, key_hash, environment, scope, created_at, expires_at)
       VALUES (@key_id, @client_id, @alias, @key_hash, @environment, @scope, @created_at, @expires_at)`,
    ),
    selectKey: db.prepare('SELECT * FROM api_keys WHERE key_id = ? AND client_id = ?'),
    selectKeysOfClient: db.prepare('SELECT * FROM api_keys WHERE client_id = ? ORDER BY created_at, key_id'),
    revokeKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE key_id = ?'),
    shortenKey: db.prepare(
      'UPDATE api_keys SET expires_at = MIN(COALESCE(expires_at, @ends_at), @ends_at) WHERE key_id = @key_id',
    ),
    setReplacedBy: db.prepare('UPDATE api_keys SET replaced_by = ? WHERE key_id = ?'),
    exposeKey: db.prepare('UPDATE api_keys SET exposed_at = ? WHERE key_id = ?'),
    markExpired: db.prepare(
      `UPDATE api_keys SET expiry_recorded = 1
       WHERE expiry_recorded = 0 AND expires_at <= ? AND revoked_at IS NULL
       RETURNING key_id, client_id, expires_at`,
    ),
    touchKey: db.prepare(
      'UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
    ),
    insertRevokedToken: db.prepare(
      `INSERT INTO revoked_tokens (token_id, client_id, key_id, expires_at, revoked_at)
       VALUES (@token_id, @client_id, @key_id, @expires_at, @revoked_at) ON CONFLICT (token_id) DO NOTHING`,
    ),
    selectRevokedTokens: db.prepare('SELECT token_id FROM revoked_tokens WHERE client_id = ?'),
    deleteExpiredRevokedTokens: db.prepare('DELETE FROM revoked_tokens WHERE expires_at < ?'),
    insertIntrospector: db.prepare(
      `INSERT INTO introspectors (name, key_hash, created_at) VALUES (@name, @key_hash, @created_at)
       ON CONFLICT (name) DO NOTHING`,
    ),
    selectIntrospector: db.prepare('SELECT * FROM introspectors WHERE name = ?'),
    selectIntrospectors: db.prepare('SELECT * FROM introspectors ORDER BY name'),
    selectIntrospectorByHash: db.prepare('SELECT * FROM introspectors WHERE key_hash = ?'),
    revokeIntrospector: db.prepare('UPDATE introspectors SET revoked_at = ? WHERE name = ?'),
    selectKeyByHash: db.prepare('SELECT * FROM api_keys WHERE key_hash = ?'),
    insertPruneCutoff: db.prepare('INSERT INTO audit_prune_cutoff (cutoff) VALUES (?)'),
    deleteAuditBefore: db.prepare("DELETE FROM audit_events WHERE at < ? AND type <> 'audit.pruned'"),
    deletePruneCutoff: db.prepare('DELETE FROM audit_prune_cutoff'),
    insertAudit: db.prepare(
      `INSERT INTO audit_events (at, type, client_id, key_id, source, count, detail)
       VALUES (@at, @type, @client_id, @key_id, @source, @count, @detail)`,
    ),
    // The latest entries, oldest first. Counted events are written in slices of a minute, possibly by
    // several processes: they are summed here.
    selectAudit: db.prepare(
      `SELECT * FROM (
         SELECT at, type, client_id, key_id, source, SUM(count) AS count, detail, MIN(id) AS first_id
         FROM audit_events
         WHERE at >= @since AND (@client_id IS NULL OR client_id = @client_id)
         GROUP BY at, type, client_id, key_id, source, detail
         ORDER BY at DESC, first_id DESC
         LIMIT @limit
       ) ORDER BY at, first_id`,
    ),
    insertChange: db.prepare('INSERT INTO changes (client_id, changed_at) VALUES (?, ?)'),
    latestChange: db.prepare('SELECT COALESCE(MAX(sequence), 0) AS latest FROM changes'),
    changesSince: db.prepare('SELECT sequence, client_id FROM changes WHERE sequence > ? ORDER BY sequence'),
    deleteOldChanges: db.prepare('DELETE FROM changes WHERE changed_at < ?'),
  };
}
