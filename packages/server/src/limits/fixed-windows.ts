import { setBounded } from '../bounded-map.js';
import type { LimitWindow } from './window-spec.js';
import { blockedForFromCounts, type WindowState, windowState } from './window-state.js';

interface Counters {
  readonly starts: number[];
  readonly counts: number[];
  /** When each window turns: made again only when one does. */
  resetsAt: readonly number[];
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
    const counters = this.#current(this.#countersOf(key), now);
    const windows = this.#windows;
    let allowed = true;
    for (let i = 0; i < windows.length; i++) {
      if ((counters.counts[i] as number) >= (windows[i] as LimitWindow).limit) allowed = false;
    }
    if (!allowed) return windowState(windows, counters.counts.slice(), false, now);
    for (let i = 0; i < windows.length; i++) (counters.counts[i] as number)++;
    // Not windowState: every API call comes this way, and the reset times are made only when a window turns.
    return {
      allowed,
      windows,
      counts: counters.counts.slice(),
      resetsAt: counters.resetsAt,
      retryAfterMs: 0,
    };
  }

  /**
   * Without counting: milliseconds until `key` may act again, or 0 when it may now. Keys never hit are
   * answered from one map lookup.
   */
  blockedFor(key: string, now: number): number {
    return this.#counters.has(key) ? blockedForFromCounts(this.#windows, this.counts(key, now), now) : 0;
  }

  /** Without counting: the counts of `key` in the windows current at `now` (turned ones are empty). */
  counts(key: string, now: number): number[] {
    const counters = this.#counters.get(key);
    if (counters === undefined) return this.#windows.map(() => 0);
    return this.#windows.map(({ windowMs }, i) =>
      counters.starts[i] === now - (now % windowMs) ? (counters.counts[i] as number) : 0,
    );
  }

  /**
   * Adds events already admitted elsewhere (`deltas[i]` in window i, counted while the window began at
   * `starts[i]`), without checking the limits, and returns the counts after. Deltas for a window that has
   * turned since are dropped: they belong to a window that is over.
   */
  add(key: string, starts: readonly number[], deltas: readonly number[], now: number): number[] {
    const counters = this.#current(this.#countersOf(key), now);
    for (let i = 0; i < this.#windows.length; i++) {
      if (starts[i] === counters.starts[i]) (counters.counts[i] as number) += deltas[i] ?? 0;
    }
    return counters.counts.slice();
  }

  /** Starts the windows of `counters` that have turned by `now` afresh. */
  #current(counters: Counters, now: number): Counters {
    let turned = false;
    for (let i = 0; i < this.#windows.length; i++) {
      const { windowMs } = this.#windows[i] as LimitWindow;
      const start = now - (now % windowMs);
      if (counters.starts[i] !== start) {
        counters.starts[i] = start;
        counters.counts[i] = 0;
        turned = true;
      }
    }
    if (turned)
      counters.resetsAt = this.#windows.map(({ windowMs }, i) => (counters.starts[i] as number) + windowMs);
    return counters;
  }

  #countersOf(key: string): Counters {
    let counters = this.#counters.get(key);
    if (counters === undefined) {
      counters = { starts: [], counts: [], resetsAt: [] };
      setBounded(this.#counters, key, counters, this.#maxKeys);
    }
    return counters;
  }
}
