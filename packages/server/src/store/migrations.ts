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
];
