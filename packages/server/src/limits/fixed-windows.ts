import type { LimitWindow } from './window-spec.js';

/** Where one key stands in each window after a hit: what MANGOPAY's rate-limit headers report. */
export interface WindowState {
  readonly allowed: boolean;
  /** Per window: events counted so far. */
  readonly made: readonly number[];
  readonly remaining: readonly number[];
  /** Per window: when it resets, Unix seconds. */
  readonly resetAt: readonly number[];
  /** When refused: milliseconds until the earliest exhausted window resets. */
  readonly retryAfterMs: number;
}

interface Counters {
  readonly starts: number[];
  readonly counts: number[];
}

/**
 * Fixed windows aligned on multiples of their length since the epoch (so every node agrees on them),
 * counted per key in memory. A refused event is not counted: a client that waits gets through when the
 * window turns. Keys are evicted oldest first past `maxKeys`, so memory stays bounded.
 */
export class FixedWindows {
  readonly #windows: readonly LimitWindow[];
  readonly #maxKeys: number;
  readonly #counters = new Map<string, Counters>();

  constructor(windows: readonly LimitWindow[], maxKeys = 100_000) {
    this.#windows = windows;
    this.#maxKeys = maxKeys;
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  hit(key: string, now: number): WindowState {
    const counters = this.#countersOf(key);
    const windows = this.#windows;
    let allowed = true;
    let retryAfterMs = 0;
    for (let i = 0; i < windows.length; i++) {
      const { limit, windowMs } = windows[i] as LimitWindow;
      const start = now - (now % windowMs);
      if (counters.starts[i] !== start) {
        counters.starts[i] = start;
        counters.counts[i] = 0;
      }
      if ((counters.counts[i] as number) >= limit) {
        allowed = false;
        const wait = start + windowMs - now;
        retryAfterMs = retryAfterMs === 0 ? wait : Math.min(retryAfterMs, wait);
      }
    }
    if (allowed) for (let i = 0; i < windows.length; i++) (counters.counts[i] as number)++;
    return {
      allowed,
      retryAfterMs,
      made: counters.counts.slice(),
      remaining: windows.map(({ limit }, i) => Math.max(0, limit - (counters.counts[i] as number))),
      resetAt: windows.map(({ windowMs }, i) =>
        Math.floor(((counters.starts[i] as number) + windowMs) / 1000),
      ),
    };
  }

  #countersOf(key: string): Counters {
    let counters = this.#counters.get(key);
    if (counters === undefined) {
      if (this.#counters.size >= this.#maxKeys) {
        const oldest = this.#counters.keys().next();
        if (oldest.done !== true) this.#counters.delete(oldest.value);
      }
      counters = { starts: [], counts: [] };
      this.#counters.set(key, counters);
    }
    return counters;
  }
}
