/**
 * PostgreSQL schema, versioned like the SQLite one (store/migrations.ts), with the same tables and
 * columns. Times are Unix epoch milliseconds (BIGINT). A migration is never edited once released.
 */
export const pgMigrations: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        token_ttl_seconds INTEGER,
        rate_limits TEXT,
        profile JSONB NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL REFERENCES clients (client_id),
        alias TEXT,
        key_hash TEXT NOT NULL UNIQUE,
        environment TEXT NOT NULL,
        scope TEXT NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write')),
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT,
        last_used_at BIGINT,
        exposed_at BIGINT,
        replaced_by TEXT,
        expiry_recorded BOOLEAN NOT NULL DEFAULT FALSE
      );
      CREATE INDEX api_keys_by_client ON api_keys (client_id);
      CREATE INDEX api_keys_by_expiry ON api_keys (expires_at) WHERE NOT expiry_recorded;

      CREATE TABLE changes (
        sequence BIGSERIAL PRIMARY KEY,
        client_id TEXT NOT NULL,
        changed_at BIGINT NOT NULL
      );

      CREATE TABLE revoked_tokens (
        token_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL
      );
      CREATE INDEX revoked_tokens_by_client ON revoked_tokens (client_id);

      CREATE TABLE introspectors (
        name TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );

      CREATE TABLE audit_events (
        id BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        type TEXT NOT NULL,
        client_id TEXT,
        key_id TEXT,
        source TEXT,
        count INTEGER NOT NULL DEFAULT 1,
        detail JSONB
      );
      CREATE INDEX audit_events_by_time ON audit_events (at);
      CREATE INDEX audit_events_by_client ON audit_events (client_id, at);
      -- Append-only: the database itself refuses to change or delete an entry.
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
    `,
  },
  {
    version: 2,
    sql: `
      -- ClientIds that differ only in case are one client to an upstream that compares them so.
      CREATE UNIQUE INDEX clients_client_id_folded ON clients (lower(client_id));

      -- Pruning (Store.pruneAudit): deletes are let through only for entries older than the cutoff that
      -- the pruning transaction sets (transaction-local), and never for the record of an earlier pruning.
      CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' AND OLD.type <> 'audit.pruned' AND OLD.at <
              COALESCE(NULLIF(current_setting('portcullis.audit_prune_before', true), '')::bigint, 0) THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION 'the audit trail is append-only';
        END $$;
    `,
  },
  {
    version: 3,
    sql: `
      -- Deletion is a tombstone (Store.deleteClient, Store.deleteApiKey): the audit trail names ClientIds and
      -- key ids, so the rows stay, and a deleted ClientId stays taken; deleted rows authenticate nothing and
      -- are listed nowhere.
      ALTER TABLE clients ADD COLUMN deleted_at BIGINT;
      ALTER TABLE api_keys ADD COLUMN deleted_at BIGINT;
    `,
  },
  {
    version: 4,
    sql: `
      -- The server secret's fingerprint (never the secret): the current one, and those retired by rotation,
      -- so that a node or CLI with another secret refuses to start instead of writing keys no one else
      -- can verify.
      CREATE TABLE server_secrets (
        fingerprint TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('current', 'retired')),
        recorded_at BIGINT NOT NULL,
        retired_at BIGINT
      );
      CREATE UNIQUE INDEX server_secrets_one_current ON server_secrets (state) WHERE state = 'current';
    `,
  },
  {
    version: 5,
    sql: `
      -- Admin API credentials: only the HMAC of each token is kept, as for API keys. Names that differ only
      -- in case would be two actors the audit trail could not tell apart.
      CREATE TABLE admins (
        name TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('operator', 'viewer')),
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
      );
      CREATE UNIQUE INDEX admins_name_folded ON admins (lower(name));

      -- Who made a change: an admin's name, 'cli', or null for what the server records itself.
      ALTER TABLE audit_events ADD COLUMN actor TEXT;
    `,
  },
  {
    version: 6,
    sql: `
      -- Dashboard sessions: the SHA-256 of the cookie's random id (a copy of the database opens none), the
      -- admin it signs in, the CSRF token its changes must carry, and when it ends.
      CREATE TABLE admin_sessions (
        id_hash TEXT PRIMARY KEY,
        admin_name TEXT NOT NULL REFERENCES admins (name),
        csrf_token TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ended_at BIGINT
      );
    `,
  },
  {
    version: 7,
    sql: `
      -- Pruning finds old change records by time: without this it read every record each minute. IF NOT
      -- EXISTS: an operator with a large table may have made it beforehand, CONCURRENTLY (deployment.md).
      CREATE INDEX IF NOT EXISTS changes_by_time ON changes (changed_at);
    `,
  },
];
