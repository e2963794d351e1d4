import { preparePrivateDirectory } from './data-directory.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';
import { isPostgresUrl } from './store-location.js';

/**
 * The store named by `--store`: none for the SQLite file in the data directory (the zero-setup default),
 * or a `postgres://` / `postgresql://` URL shared by many nodes. Migrations are applied on opening.
 */
export async function openStore(
  location: string | undefined,
  dataDir: string,
  timeoutMs: number,
): Promise<Store> {
  if (location === undefined) return new SqliteStore(dataDir, timeoutMs);
  if (isPostgresUrl(location)) {
    // The data directory holds the server secret and the TLS material with PostgreSQL too: made (or
    // refused) first, so that a directory that cannot be made fails before any connection opens.
    preparePrivateDirectory(dataDir);
    // Loaded only when asked for: the zero-setup path never loads the PostgreSQL driver.
    const { PgStore } = await import('./pg-store.js');
    return PgStore.open(location, { timeoutMs });
  }
  throw new RangeError('store must be a postgres:// URL (or unset for SQLite in the data directory)');
}
