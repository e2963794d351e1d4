import { setBounded } from '../bounded-map.js';
import type { LimitWindow } from './window-spec.js';
import { blockedForFromCounts, type WindowState, windowState } from './window-state.js';

interface Counters {
  readonly starts: number[];
  readonly counts: number[];
  /** `resetAt` for the current starts, made again only when a window turns. */
  resetAt: string;
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
    let turned = false;
    for (let i = 0; i < windows.length; i++) {
      const { limit, windowMs } = windows[i] as LimitWindow;
      const start = now - (now % windowMs);
      if (counters.starts[i] !== start) {
        counters.starts[i] = start;
        counters.counts[i] = 0;
        turned = true;
      }
      if ((counters.counts[i] as number) >= limit) {
        allowed = false;
        const wait = start + windowMs - now;
        retryAfterMs = retryAfterMs === 0 ? wait : Math.min(retryAfterMs, wait);
      }
    }
    if (turned) {
      counters.resetAt = windows
        .map(({ windowMs }, i) => Math.floor(((counters.starts[i] as number) + windowMs) / 1000))
        .join(',');
    }
    let made = '';
    let remaining = '';
    for (let i = 0; i < windows.length; i++) {
      if (allowed) (counters.counts[i] as number)++;
      const count = counters.counts[i] as number;
      const separator = i === 0 ? '' : ',';
      made += separator + count;
      remaining += separator + Math.max(0, (windows[i] as LimitWindow).limit - count);
    }
    return { allowed, retryAfterMs, made, remaining, resetAt: counters.resetAt };
  }

  /**
   * Without counting: milliseconds until `key` may act again, or 0 when it may now. Keys never hit are
   * answered from one map lookup.
   */
  blockedFor(key: string, now: number): number {
    const counters = this.#counters.get(key);
    if (counters === undefined) return 0;
    // Counts of windows that have turned since are stale: they count as empty.
    const current = this.#windows.map(({ windowMs }, i) =>
      counters.starts[i] === now - (now % windowMs) ? (counters.counts[i] as number) : 0,
    );
    return blockedForFromCounts(this.#windows, current, now);
  }

  /**
   * Adds events already admitted elsewhere (`deltas[i]` in window i, counted while the window began at
   * `starts[i]`), without checking the limits, and returns the state after. Deltas for a window that has
   * turned since are dropped: they belong to a window that is over.
   */
  add(key: string, starts: readonly number[], deltas: readonly number[], now: number): WindowState {
    const counters = this.#countersOf(key);
    this.#windows.forEach(({ windowMs }, i) => {
      const start = now - (now % windowMs);
      if (counters.starts[i] !== start) {
        counters.starts[i] = start;
        counters.counts[i] = 0;
      }
      if (starts[i] === start) (counters.counts[i] as number) += deltas[i] ?? 0;
    });
    return windowState(this.#windows, counters.counts, true, now);
  }

  /** Whether `key` has been counted at all (and not evicted). */
  has(key: string): boolean {
    return this.#counters.has(key);
  }

  #countersOf(key: string): Counters {
    let counters = this.#counters.get(key);
    if (counters === undefined) {
      counters = { starts: [], counts: [], resetAt: '' };
      setBounded(this.#counters, key, counters, this.#maxKeys);
    }
    return counters;
  }
}
