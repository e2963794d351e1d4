import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestClient, type TestServer, tempDataDir } from '../../server/test/helpers/harness.js';
import { FileTokenStore, PortcullisClient } from '../src/index.js';
import { RedisTokenStore } from '../src/redis-token-store.js';
import { startTrustedServer } from './helpers/server.js';

const FLEET_MEMBER = fileURLToPath(new URL('./fixtures/get-token.mjs', import.meta.url));
const REDIS_URL = process.env.PORTCULLIS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let t: TestServer;
let acme: TestClient;
const directories: string[] = [];

beforeAll(async () => {
  t = await startTrustedServer();
  acme = await t.createClient('acme');
});
afterAll(async () => {
  await t.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** Runs two fleet members at once and resolves with the tokens they printed. */
function runFleet(client: TestClient, env: Record<string, string>): Promise<string[]> {
  const startAt = String(Date.now() + 1500);
  const member = () =>
    new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [FLEET_MEMBER],
        {
          env: {
            ...process.env,
            ...env,
            BASE_URL: t.baseUrl,
            CLIENT_ID: client.clientId,
            API_KEY: client.apiKey,
            START_AT: startAt,
          },
        },
        (error, stdout, stderr) =>
          error ? reject(new Error(stderr || error.message)) : resolve(stdout.trim()),
      );
    });
  return Promise.all([member(), member()]);
}

describe('FileTokenStore', () => {
  it('two processes sharing one directory mint one token', async () => {
    const directory = tempDataDir();
    directories.push(directory);
    const before = t.server.tokensIssued();
    const tokens = await runFleet(acme, { STORE: 'file', STORE_DIR: directory });
    expect(tokens[0]).toBe(tokens[1]);
    expect(t.server.tokensIssued() - before).toBe(1);
  });

  it('writes files of mode 0600 that hold the token, never the API key', async () => {
    const directory = join(tempDataDir(), 'tokens');
    directories.push(directory);
    const sdk = new PortcullisClient({
      baseUrl: t.baseUrl,
      clientId: acme.clientId,
      apiKey: acme.apiKey,
      tokenStore: new FileTokenStore(directory),
    });
    const token = await sdk.getAccessToken();
    const files = readdirSync(directory);
    // The token, and the lock its refresh took (released, kept as the lock's latest number).
    expect(files.filter((name) => name.endsWith('.json'))).toHaveLength(1);
    expect(files.filter((name) => /\.lock\.\d+$/.test(name))).toHaveLength(1);
    expect(files).toHaveLength(2);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    for (const name of files) {
      const path = join(directory, name);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const text = readFileSync(path, 'utf8');
      expect(text.includes(token)).toBe(name.endsWith('.json'));
      expect(text).not.toContain(acme.apiKey);
    }
  });

  it('keeps tokens of different credentials and base URLs apart', async () => {
    const directory = tempDataDir();
    directories.push(directory);
    const store = new FileTokenStore(directory);
    const globex = await t.createClient('globex');
    const a = new PortcullisClient({
      baseUrl: t.baseUrl,
      clientId: 'acme',
      apiKey: acme.apiKey,
      tokenStore: store,
    });
    const b = new PortcullisClient({
      baseUrl: t.baseUrl,
      clientId: 'globex',
      apiKey: globex.apiKey,
      tokenStore: store,
    });
    const c = new PortcullisClient({
      baseUrl: t.baseUrl.replace('127.0.0.1', 'localhost'),
      clientId: 'acme',
      apiKey: acme.apiKey,
      tokenStore: store,
    });
    const tokens = await Promise.all([a.getAccessToken(), b.getAccessToken(), c.getAccessToken()]);
    expect(new Set(tokens).size).toBe(3);
    expect(readdirSync(directory).filter((name) => name.endsWith('.json'))).toHaveLength(3);
  });
});

describe('RedisTokenStore (real Redis)', () => {
  let redis: Redis | undefined;
  const prefix = `portcullis-test:${process.pid}:${Date.now()}:`;

  beforeAll(async () => {
    const candidate = new Redis(REDIS_URL, {
      lazyConnect: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
    });
    try {
      await candidate.connect();
      redis = candidate;
    } catch (error) {
      candidate.disconnect();
      if (process.env.CI === 'true') throw error;
      console.warn(
        `\n*** SKIPPING RedisTokenStore tests: no Redis at ${REDIS_URL} (set PORTCULLIS_TEST_REDIS_URL) ***\n`,
      );
    }
  });
  afterAll(async () => {
    if (redis === undefined) return;
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('two processes sharing one Redis mint one token', async (context) => {
    if (redis === undefined) return context.skip();
    const before = t.server.tokensIssued();
    const tokens = await runFleet(acme, { STORE: 'redis', REDIS_URL, REDIS_PREFIX: prefix });
    expect(tokens[0]).toBe(tokens[1]);
    expect(t.server.tokensIssued() - before).toBe(1);
  });

  it('expires entries with the token, and deletes only the token it was asked to', async (context) => {
    if (redis === undefined) return context.skip();
    const store = new RedisTokenStore(redis, { prefix });
    const key = 'a'.repeat(64);
    await store.set(key, {
      accessToken: 'one',
      expiresAt: Date.now() + 60_000,
      refreshAt: Date.now() + 54_000,
    });
    const ttl = await redis.pttl(`${prefix}${key}`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await store.delete(key, 'another');
    expect((await store.get(key))?.accessToken).toBe('one');
    await store.delete(key, 'one');
    expect(await store.get(key)).toBeUndefined();
  });

  it('gives a lock to one holder at a time, released only by its owner', async (context) => {
    if (redis === undefined) return context.skip();
    const store = new RedisTokenStore(redis, { prefix });
    const key = 'b'.repeat(64);
    const release = await store.lock(key, 5000);
    expect(release).toBeDefined();
    expect(await store.lock(key, 5000)).toBeUndefined();
    await release?.();
    const again = await store.lock(key, 5000);
    expect(again).toBeDefined();
    await again?.();
  });
});
