import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { ChangeSignal } from '../cluster/change-signal.js';
import { unavailable } from '../errors.js';
import { type SharedWindowCounter, SyncedWindows } from '../limits/synced-windows.js';
import type { CounterFactory } from '../limits/window-counter.js';
import type { LimitWindow } from '../limits/window-spec.js';
import type { WindowState } from '../limits/window-state.js';
import { blockedForFromCounts, windowState } from '../limits/window-state.js';

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
export class RedisCache implements ChangeSignal {
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

  /**
   * Brute-force counters are asked of Redis on every use: a few extra guesses matter. Rate and token limits
   * are counted in this process and synchronised with Redis (SyncedWindows): a round trip per API call
   * would cost more than the call.
   */
  readonly counters: CounterFactory = (space, windows) =>
    space.startsWith('failed-')
      ? new RedisWindowCounter(this, space, windows)
      : new SyncedWindows(new RedisWindowCounter(this, space, windows), windows);

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

  /** @internal */
  async hit(keys: readonly string[], windows: readonly LimitWindow[]): Promise<number[]> {
    return this.#run(() =>
      this.#commands.portcullisHit(
        keys.length,
        ...keys,
        ...windows.map((w) => w.limit),
        ...lifetimes(windows),
      ),
    );
  }

  /** @internal */
  async add(
    keys: readonly string[],
    deltas: readonly number[],
    windows: readonly LimitWindow[],
  ): Promise<number[]> {
    return this.#run(() =>
      this.#commands.portcullisAdd(keys.length, ...keys, ...deltas, ...lifetimes(windows)),
    );
  }

  /** @internal */
  async counts(keys: readonly string[]): Promise<number[]> {
    const values = await this.#run(() => this.#commands.mget(...keys));
    return values.map((value) => Number(value ?? 0));
  }

  /** @internal */
  key(space: string, key: string, windowMs: number, start: number): string {
    // Keys come from requests (addresses, claimed ClientIds): long ones are hashed, so none is large.
    const subject = key.length <= 128 ? key : createHash('sha256').update(key).digest('base64url');
    return `${this.#prefix}${space}:{${subject}}:${windowMs}:${start}`;
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

class RedisWindowCounter implements SharedWindowCounter {
  readonly #cache: RedisCache;
  readonly #space: string;
  readonly #windows: readonly LimitWindow[];

  constructor(cache: RedisCache, space: string, windows: readonly LimitWindow[]) {
    this.#cache = cache;
    this.#space = space;
    this.#windows = windows;
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  async hit(key: string, now: number): Promise<WindowState> {
    const result = await this.#cache.hit(this.#keys(key, now), this.#windows);
    return windowState(this.#windows, result.slice(0, -1), result.at(-1) === 1, now);
  }

  async blockedFor(key: string, now: number): Promise<number> {
    return blockedForFromCounts(this.#windows, await this.#cache.counts(this.#keys(key, now)), now);
  }

  async add(
    key: string,
    starts: readonly number[],
    deltas: readonly number[],
    now: number,
  ): Promise<WindowState> {
    const keys = this.#windows.map(({ windowMs }, i) =>
      this.#cache.key(this.#space, key, windowMs, starts[i] as number),
    );
    const counts = await this.#cache.add(keys, deltas, this.#windows);
    // Totals of windows that have turned since are of no use to the caller: state them as empty.
    const current = counts.map((count, i) => {
      const { windowMs } = this.#windows[i] as LimitWindow;
      return starts[i] === now - (now % windowMs) ? count : 0;
    });
    return windowState(this.#windows, current, true, now);
  }

  #keys(key: string, now: number): string[] {
    return this.#windows.map(({ windowMs }) =>
      this.#cache.key(this.#space, key, windowMs, now - (now % windowMs)),
    );
  }
}
