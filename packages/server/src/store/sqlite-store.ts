import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Environment } from '../keys/environment.js';
import { sqliteMigrations } from './migrations.js';
import type {
  ApiKeyRecord,
  ChangeBatch,
  ClientCredentials,
  ClientRecord,
  ClientStatus,
  ClientUpdate,
  NewClient,
} from './records.js';
import type { Store } from './store.js';

export const SQLITE_FILE = 'portcullis.sqlite';

interface ClientRow {
  client_id: string;
  name: string;
  status: string;
  token_ttl_seconds: number | null;
  profile: string;
  created_at: number;
  updated_at: number;
}

interface ApiKeyRow {
  key_id: string;
  client_id: string;
  alias: string | null;
  key_hash: string;
  environment: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

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
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.#db = new Database(join(dataDir, SQLITE_FILE));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    this.#db.pragma('foreign_keys = ON');
    migrate(this.#db);
    this.#statements = prepareStatements(this.#db);
  }

  async createClient(client: NewClient): Promise<ClientRecord | undefined> {
    const s = this.#statements;
    return this.#db.transaction(() => {
      const inserted = s.insertClient.run({
        client_id: client.clientId,
        name: client.name,
        token_ttl_seconds: client.tokenTtlSeconds,
        created_at: client.createdAt,
      });
      if (inserted.changes === 0) return undefined;
      s.insertChange.run(client.clientId, client.createdAt);
      return toClient(s.selectClient.get(client.clientId) as ClientRow);
    })();
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
    return this.#db.transaction(() => {
      const row = s.selectClient.get(clientId) as ClientRow | undefined;
      if (row === undefined) return undefined;
      const current = toClient(row);
      s.updateClient.run({
        client_id: clientId,
        name: update.name ?? current.name,
        status: update.status ?? current.status,
        token_ttl_seconds:
          update.tokenTtlSeconds === undefined ? current.tokenTtlSeconds : update.tokenTtlSeconds,
        profile: JSON.stringify(update.profile ?? current.profile),
        updated_at: now,
      });
      s.insertChange.run(clientId, now);
      return toClient(s.selectClient.get(clientId) as ClientRow);
    })();
  }

  async createApiKey(key: ApiKeyRecord): Promise<void> {
    const s = this.#statements;
    this.#db.transaction(() => {
      s.insertApiKey.run({
        key_id: key.keyId,
        client_id: key.clientId,
        alias: key.alias,
        key_hash: key.keyHash,
        environment: key.environment,
        created_at: key.createdAt,
        expires_at: key.expiresAt,
      });
      s.insertChange.run(key.clientId, key.createdAt);
    })();
  }

  async listApiKeys(clientId: string): Promise<ApiKeyRecord[]> {
    return (this.#statements.selectKeysOfClient.all(clientId) as ApiKeyRow[]).map(toApiKey);
  }

  async revokeApiKey(clientId: string, keyId: string, now: number): Promise<ApiKeyRecord | undefined> {
    const s = this.#statements;
    return this.#db.transaction(() => {
      const row = s.selectKey.get(keyId, clientId) as ApiKeyRow | undefined;
      if (row === undefined) return undefined;
      if (row.revoked_at === null) {
        s.revokeKey.run(now, keyId);
        s.insertChange.run(clientId, now);
      }
      return toApiKey(s.selectKey.get(keyId, clientId) as ApiKeyRow);
    })();
  }

  async recordKeyUse(lastUsedByKeyId: ReadonlyMap<string, number>): Promise<void> {
    const s = this.#statements;
    this.#db.transaction(() => {
      for (const [keyId, at] of lastUsedByKeyId) s.touchKey.run(at, keyId, at);
    })();
  }

  async getClientCredentials(clientId: string): Promise<ClientCredentials | undefined> {
    const s = this.#statements;
    return this.#db.transaction(() => {
      const row = s.selectClient.get(clientId) as ClientRow | undefined;
      if (row === undefined) return undefined;
      return {
        client: toClient(row),
        keys: (s.selectKeysOfClient.all(clientId) as ApiKeyRow[]).map(toApiKey),
      };
    })();
  }

  async pruneChanges(before: number): Promise<void> {
    this.#statements.deleteOldChanges.run(before);
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
      `INSERT INTO clients (client_id, name, status, token_ttl_seconds, created_at, updated_at)
       VALUES (@client_id, @name, 'active', @token_ttl_seconds, @created_at, @created_at)
       ON CONFLICT (client_id) DO NOTHING`,
    ),
    selectClient: db.prepare('SELECT * FROM clients WHERE client_id = ?'),
    selectClients: db.prepare('SELECT * FROM clients ORDER BY client_id'),
    updateClient: db.prepare(
      `UPDATE clients SET name = @name, status = @status, token_ttl_seconds = @token_ttl_seconds,
       profile = @profile, updated_at = @updated_at WHERE client_id = @client_id`,
    ),
    insertApiKey: db.prepare(
      `INSERT INTO api_keys (key_id, client_id, alias, key_hash, environment, created_at, expires_at)
       VALUES (@key_id, @client_id, @alias, @key_hash, @environment, @created_at, @expires_at)`,
    ),
    selectKey: db.prepare('SELECT * FROM api_keys WHERE key_id = ? AND client_id = ?'),
    selectKeysOfClient: db.prepare('SELECT * FROM api_keys WHERE client_id = ? ORDER BY created_at, key_id'),
    revokeKey: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE key_id = ?'),
    touchKey: db.prepare(
      'UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
    ),
    insertChange: db.prepare('INSERT INTO changes (client_id, changed_at) VALUES (?, ?)'),
    latestChange: db.prepare('SELECT COALESCE(MAX(sequence), 0) AS latest FROM changes'),
    changesSince: db.prepare('SELECT sequence, client_id FROM changes WHERE sequence > ? ORDER BY sequence'),
    deleteOldChanges: db.prepare('DELETE FROM changes WHERE changed_at < ?'),
  };
}

function toClient(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    status: row.status as ClientStatus,
    tokenTtlSeconds: row.token_ttl_seconds,
    profile: JSON.parse(row.profile) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    clientId: row.client_id,
    alias: row.alias,
    keyHash: row.key_hash,
    environment: row.environment as Environment,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
