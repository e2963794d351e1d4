/**
 * SQLite schema, versioned. A migration is never edited once released: add a new one.
 * Times are Unix epoch milliseconds.
 */
export const sqliteMigrations: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        token_ttl_seconds INTEGER,
        profile TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients (client_id),
        alias TEXT,
        key_hash TEXT NOT NULL UNIQUE,
        environment TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        last_used_at INTEGER
      ) STRICT;
      CREATE INDEX api_keys_by_client ON api_keys (client_id);

      CREATE TABLE changes (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id TEXT NOT NULL,
        changed_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    sql: `
      ALTER TABLE clients ADD COLUMN rate_limits TEXT;

      ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write'));
      ALTER TABLE api_keys ADD COLUMN exposed_at INTEGER;
      ALTER TABLE api_keys ADD COLUMN replaced_by TEXT;
      ALTER TABLE api_keys ADD COLUMN expiry_recorded INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX api_keys_by_expiry ON api_keys (expires_at) WHERE expiry_recorded = 0;

      CREATE TABLE revoked_tokens (
        token_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX revoked_tokens_by_client ON revoked_tokens (client_id);

      CREATE TABLE introspectors (
        name TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;

      CREATE TABLE audit_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        client_id TEXT,
        key_id TEXT,
        source TEXT,
        count INTEGER NOT NULL DEFAULT 1,
        detail TEXT
      ) STRICT;
      CREATE INDEX audit_events_by_time ON audit_events (at);
      CREATE INDEX audit_events_by_client ON audit_events (client_id, at);
      -- Append-only: the database itself refuses to change or delete an entry.
      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    `,
  },
  {
    version: 3,
    sql: `
      -- Pruning (Store.pruneAudit): the pruning transaction writes its cutoff here, deletes, and empties
      -- it again; deletes are let through only for entries older than a cutoff written so, and never for
      -- the record of an earlier pruning.
      -- ClientIds that differ only in case are one client to an upstream that compares them so.
      CREATE UNIQUE INDEX clients_client_id_folded ON clients (lower(client_id));

      CREATE TABLE audit_prune_cutoff (cutoff INTEGER NOT NULL) STRICT;
      DROP TRIGGER audit_events_no_delete;
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        WHEN old.type = 'audit.pruned' OR NOT EXISTS (SELECT 1 FROM audit_prune_cutoff WHERE old.at < cutoff)
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    `,
  },
  {
    version: 4,
    sql: `
      -- Deletion is a tombstone (Store.deleteClient, Store.deleteApiKey): the audit trail names ClientIds and
      -- key ids, so the rows stay, and a deleted ClientId stays taken; deleted rows authenticate nothing and
      -- are listed nowhere.
      ALTER TABLE clients ADD COLUMN deleted_at INTEGER;
      ALTER TABLE api_keys ADD COLUMN deleted_at INTEGER;
    `,
  },
  {
    version: 5,
    sql: `
      -- The server secret's fingerprint (never the secret): the current one, and those retired by rotation,
      -- so that a node or CLI with another secret refuses to start instead of writing keys no one else
      -- can verify.
      CREATE TABLE server_secrets (
        fingerprint TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('current', 'retired')),
        recorded_at INTEGER NOT NULL,
        retired_at INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX server_secrets_one_current ON server_secrets (state) WHERE state = 'current';
    `,
  },
  {
    version: 6,
    sql: `
      -- Admin API credentials: only the HMAC of each token is kept, as for API keys. Names that differ only
      -- in case would be two actors the audit trail could not tell apart.
      CREATE TABLE admins (
        name TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('operator', 'viewer')),
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;
      CREATE UNIQUE INDEX admins_name_folded ON admins (lower(name));

      -- Who made a change: an admin's name, 'cli', or null for what the server records itself.
      ALTER TABLE audit_events ADD COLUMN actor TEXT;
    `,
  },
  {
    version: 7,
    sql: `
      -- Dashboard sessions: the SHA-256 of the cookie's random id (a copy of the database opens none), the
      -- admin it signs in, the CSRF token its changes must carry, and when it ends.
      CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        admin_name TEXT NOT NULL REFERENCES admins (name),
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER
      ) STRICT;
    `,
  },
  {
    version: 8,
    sql: `
      -- Pruning finds old change records by time: without this it read every record each minute, 65 to
      -- 123 ms on the event loop with a million clients made in the last day (issue 15).
      CREATE INDEX changes_by_time ON changes (changed_at);
    `,
  },
];
