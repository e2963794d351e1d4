import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Which backend the behaviour suite runs against: `sqlite` (the default: a SQLite file per server) or
 * `postgres` (PostgreSQL store and Redis cache, each test server in its own schema and key prefix).
 * vitest.config.ts runs the suite once per backend.
 */
export const TEST_BACKEND = process.env.PORTCULLIS_TEST_BACKEND ?? 'sqlite';

export const PG_URL = process.env.PORTCULLIS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.PORTCULLIS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface SharedBackend {
  /** `--store`: the test database, with `search_path` set to this backend's own schema. */
  readonly store: string;
  readonly cache: string;
  readonly cachePrefix: string;
  /** Drops the schema and deletes the keys. */
  drop(): Promise<void>;
}

/** The flags that put a node or the CLI on `backend`, with `dataDir` for the secret every node shares. */
export function clusterFlags(dataDir: string, backend: SharedBackend): string[] {
  return [
    '--data-dir',
    dataDir,
    '--store',
    backend.store,
    '--cache',
    backend.cache,
    '--cache-prefix',
    backend.cachePrefix,
  ];
}

/** A fresh PostgreSQL schema and Redis key prefix, for one test server or a set sharing them. */
export async function createSharedBackend(): Promise<SharedBackend> {
  const name = `portcullis_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE SCHEMA ${name}`));
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${name}`);
  const cachePrefix = `${name}:`;
  return {
    store: url.toString(),
    cache: REDIS_URL,
    cachePrefix,
    async drop() {
      await withAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`));
      const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${cachePrefix}*`, 'COUNT', 1000);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether PostgreSQL and Redis answer, for deciding to run or skip the suites that need them. */
export async function servicesReachable(): Promise<{ ok: boolean; detail: string }> {
  try {
    await withAdmin((client) => client.query('SELECT 1'));
  } catch (error) {
    return { ok: false, detail: `no PostgreSQL at ${PG_URL} (${(error as Error).message})` };
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    return { ok: false, detail: `no Redis at ${REDIS_URL} (${(error as Error).message})` };
  } finally {
    redis.disconnect();
  }
  return { ok: true, detail: '' };
}
