import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ChangeSignal } from '../cluster/change-signal.js';
import { unavailable } from '../errors.js';
import {
  type CountSubject,
  type CountTransport,
  type HitCounts,
  sharedCounters,
} from '../limits/shared-counters.js';
import type { CounterFactory } from '../limits/window-counter.js';
import type { LimitWindow } from '../limits/window-spec.js';
import { windowStarts } from '../limits/window-state.js';

/**
 * Counts one event in every window at once, or in none when any window is full, in one atomic step.
 * KEYS: one counter per window. ARGV: the limits, then each counter's lifetime in milliseconds.
 * Returns the counts after the step, then 1 when counted, 0 when refused.
 */
const HIT_SCRIPT = `
local n = #KEYS
local counts = {}
local allowed = 1
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] >= tonumber(ARGV[i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[n + i]) end
  end
end
counts[n + 1] = allowed
return counts
`;

/**
 * Adds counts already admitted by a node. KEYS: one counter per window. ARGV: the counts to add, then each
 * counter's lifetime in milliseconds. Returns the counts after.
 */
const ADD_SCRIPT = `
local n = #KEYS
local counts = {}
for i = 1, n do
  counts[i] = redis.call('INCRBY', KEYS[i], ARGV[i])
  if counts[i] == tonumber(ARGV[i]) then redis.call('PEXPIRE', KEYS[i], ARGV[n + i]) end
end
return counts
`;

const CHANGES_CHANNEL = 'changes';

interface ScriptedRedis extends Redis {
  portcullisHit(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]>;
  portcullisAdd(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]>;
}

export interface RedisCacheOptions {
  /** Prefix of every key and channel, so that several deployments (or test runs) share one Redis. */
  readonly keyPrefix: string;
  /** How long a command may take before the request it serves is refused (503). */
  readonly timeoutMs: number;
}

/**
 * What nodes share through Redis: limit counters (rate limits, token limit, brute-force counters) and
 * a broadcast that tells every node a change was written, so that it reads the store's change feed at
 * once instead of at its next poll. Commands fail at once while Redis is unreachable (no offline queue):
 * the request is refused with 503, never let through uncounted; the client reconnects by itself.
 */
export class RedisCache implements ChangeSignal, CountTransport {
  readonly #commands: ScriptedRedis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #listeners = new Set<() => void>();

  constructor(url: string, options: RedisCacheOptions) {
    const common = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.timeoutMs,
      connectTimeout: options.timeoutMs,
      lazyConnect: false,
      // Reconnect quickly but not in a tight loop while Redis is down.
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
    };
    this.#prefix = options.keyPrefix;
    // Commands issued in one event-loop turn go out as one pipeline: one write and one read for many calls.
    this.#commands = new Redis(url, { ...common, enableAutoPipelining: true }) as ScriptedRedis;
    this.#commands.defineCommand('portcullisHit', { lua: HIT_SCRIPT });
    this.#commands.defineCommand('portcullisAdd', { lua: ADD_SCRIPT });
    // Errors are answered where a command fails; the connection events themselves need no handler.
    this.#commands.on('error', () => undefined);
    // The subscription waits for the connection (offline queue on), and ioredis renews it on reconnection.
    this.#subscriber = new Redis(url, { ...common, commandTimeout: undefined, enableOfflineQueue: true });
    this.#subscriber.on('error', () => undefined);
    const channel = this.#prefix + CHANGES_CHANNEL;
    this.#subscriber.subscribe(channel).catch(() => undefined);
    this.#subscriber.on('message', (from: string) => {
      if (from === channel) for (const listener of this.#listeners) listener();
    });
  }

  /** Resolves once both connections are up, or rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const connection of [this.#commands, this.#subscriber]) {
      while (connection.status !== 'ready') {
        if (Date.now() > deadline) throw new Error(`Redis not reachable (${connection.status})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /** A round trip to Redis (PING), for readiness: fails at once while the connection is down. */
  async ping(): Promise<void> {
    await this.#commands.ping();
  }

  /** The limit counters, kept in Redis. */
  readonly counters: CounterFactory = sharedCounters(this);

  /** Tells every node that the store has changes to read. Best effort: the feed poll is the safety net. */
  async publishChange(): Promise<void> {
    await this.#commands.publish(this.#prefix + CHANGES_CHANNEL, '1').catch(() => undefined);
  }

  announce(): void {
    void this.publishChange();
  }

  subscribe(listener: () => void): void {
    this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#commands.disconnect();
    this.#subscriber.disconnect();
  }

  async hit({ space, windows, key, now }: CountSubject): Promise<HitCounts> {
    const keys = this.#keys(space, windows, key, windowStarts(windows, now));
    const limits = windows.map((window) => window.limit);
    const result = await this.#run(() =>
      this.#commands.portcullisHit(keys.length, ...keys, ...limits, ...lifetimes(windows)),
    );
    // The script answers the counts, then 1 when it counted or 0 when it refused.
    return { counts: result.slice(0, -1), allowed: result.at(-1) === 1 };
  }

  async counts({ space, windows, key, now }: CountSubject): Promise<readonly number[]> {
    const keys = this.#keys(space, windows, key, windowStarts(windows, now));
    const values = await this.#run(() => this.#commands.mget(...keys));
    return values.map((value) => Number(value ?? 0));
  }

  add({ space, windows, key }: CountSubject, starts: readonly number[], deltas: readonly number[]) {
    const keys = this.#keys(space, windows, key, starts);
    return this.#run(() =>
      this.#commands.portcullisAdd(keys.length, ...keys, ...deltas, ...lifetimes(windows)),
    );
  }

  /** One counter per window, named for the window's length and start, so that every node finds it. */
  #keys(space: string, windows: readonly LimitWindow[], key: string, starts: readonly number[]): string[] {
    // Keys come from requests (addresses, claimed ClientIds): long ones are hashed, so none is large.
    const subject = key.length <= 128 ? key : createHash('sha256').update(key).digest('base64url');
    return windows.map(({ windowMs }, i) => `${this.#prefix}${space}:{${subject}}:${windowMs}:${starts[i]}`);
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw unavailable('cache_unavailable', error);
    }
  }
}

/** How long a window's counter lives: the window, and a second more for clocks a little apart. */
function lifetimes(windows: readonly LimitWindow[]): number[] {
  return windows.map(({ windowMs }) => windowMs + 1000);
}
