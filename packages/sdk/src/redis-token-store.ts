import { ConfigurationError } from './errors.js';
import { parseStoredToken, type ReleaseLock, type StoredToken, type TokenStore } from './token-store.js';

/**
 * The commands the Redis store uses, in ioredis's call shape. An ioredis client fits as it is; wrap
 * another client to match. The SDK itself depends on no Redis package.
 */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, expiryMode: 'PX', milliseconds: number): Promise<unknown>;
  set(key: string, value: string, expiryMode: 'PX', milliseconds: number, condition: 'NX'): Promise<unknown>;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisTokenStoreOptions {
  /** Prepended to every key. Default `portcullis:token:`. */
  readonly prefix?: string;
}

/** Deletes KEYS[1] only while it still holds ARGV[1]: a compare-and-delete in one round trip. */
const DELETE_IF_EQUAL =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/**
 * Tokens in Redis, shared by every process and machine that uses the same Redis and credentials. Each
 * entry expires in Redis when the token does; `lock` is SET NX PX with a random owner, released only by
 * that owner.
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisCommands;
  readonly #prefix: string;

  constructor(redis: RedisCommands, options: RedisTokenStoreOptions = {}) {
    if (
      typeof redis?.get !== 'function' ||
      typeof redis.set !== 'function' ||
      typeof redis.eval !== 'function'
    ) {
      throw new ConfigurationError(
        'RedisTokenStore needs a Redis client with get, set and eval (ioredis fits)',
      );
    }
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'portcullis:token:';
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const value = await this.#redis.get(this.#prefix + key);
    return value === null ? undefined : parseStoredToken(value);
  }

  async set(key: string, token: StoredToken): Promise<void> {
    const ttl = token.expiresAt - Date.now();
    if (ttl <= 0) return;
    await this.#redis.set(this.#prefix + key, JSON.stringify(token), 'PX', ttl);
  }

  async delete(key: string, accessToken: string): Promise<void> {
    const current = await this.#redis.get(this.#prefix + key);
    if (current === null || parseStoredToken(current)?.accessToken !== accessToken) return;
    await this.#redis.eval(DELETE_IF_EQUAL, 1, this.#prefix + key, current);
  }

  async lock(key: string, ttlMs: number): Promise<ReleaseLock | undefined> {
    const lockKey = `${this.#prefix}${key}:lock`;
    const owner = crypto.randomUUID();
    const taken = await this.#redis.set(lockKey, owner, 'PX', ttlMs, 'NX');
    if (taken !== 'OK') return undefined;
    return async () => {
      await this.#redis.eval(DELETE_IF_EQUAL, 1, lockKey, owner);
    };
  }
}
