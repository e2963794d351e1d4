import { type SharedWindowCounter, SyncedWindows } from './synced-windows.js';
import type { CounterFactory } from './window-counter.js';
import type { LimitWindow } from './window-spec.js';
import { blockedForFromCounts, type WindowState, windowState } from './window-state.js';

/** What a hit did to a key's shared counts: the counts after it, and whether it was counted. */
export interface HitCounts {
  readonly counts: readonly number[];
  readonly allowed: boolean;
}

/** Which counts a call is about: those of `key` for one kind of event, in the windows current at `now`. */
export interface CountSubject {
  readonly space: string;
  readonly windows: readonly LimitWindow[];
  readonly key: string;
  readonly now: number;
}

/**
 * Where counts shared by several processes live and how they are reached: a cluster's primary over IPC,
 * or Redis. A transport keeps numbers only; what they mean (limits, reset times, waits) is worked out
 * once, by the counters `sharedCounters` makes. Windows are fixed and aligned on multiples of their length.
 * The requests of one process are counted in the order it sent them (one IPC channel, or one Redis
 * connection), which `SyncedWindows` relies on.
 */
export interface CountTransport {
  /** Counts one event in every window, or in none when any is full. */
  hit(subject: CountSubject): Promise<HitCounts>;
  /** The counts, without counting. */
  counts(subject: CountSubject): Promise<readonly number[]>;
  /**
   * Adds events already admitted (`deltas[i]` in window i while it began at `starts[i]`) without checking
   * the limits, and answers the counts after.
   */
  add(
    subject: CountSubject,
    starts: readonly number[],
    deltas: readonly number[],
  ): Promise<readonly number[]>;
}

/** The counters of a deployment whose counts live behind `transport`. */
export function sharedCounters(transport: CountTransport): CounterFactory {
  return {
    shared: true,
    synced: (space, windows) => new SyncedWindows(new SharedWindows(transport, space, windows), windows),
    exact: (space, windows) => new SharedWindows(transport, space, windows),
  };
}

/** One kind of event counted behind a transport, asked on every use. */
class SharedWindows implements SharedWindowCounter {
  readonly #transport: CountTransport;
  readonly #space: string;
  readonly #windows: readonly LimitWindow[];

  constructor(transport: CountTransport, space: string, windows: readonly LimitWindow[]) {
    this.#transport = transport;
    this.#space = space;
    this.#windows = windows;
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  /** Always: the counts live behind the transport. */
  mayHold(_key: string): boolean {
    return true;
  }

  /** None here: the counts live behind the transport (the primary's own are reported by it). */
  get forgotten(): number {
    return 0;
  }

  async hit(key: string, now: number): Promise<WindowState> {
    const { counts, allowed } = await this.#transport.hit(this.#subject(key, now));
    return windowState(this.#windows, counts, allowed, now);
  }

  hitInPlace(key: string, now: number): Promise<WindowState> {
    return this.hit(key, now);
  }

  async blockedFor(key: string, now: number): Promise<number> {
    const counts = await this.#transport.counts(this.#subject(key, now));
    return blockedForFromCounts(this.#windows, counts, now);
  }

  add(
    key: string,
    starts: readonly number[],
    deltas: readonly number[],
    now: number,
  ): Promise<readonly number[]> {
    return this.#transport.add(this.#subject(key, now), starts, deltas);
  }

  #subject(key: string, now: number): CountSubject {
    return { space: this.#space, windows: this.#windows, key, now };
  }
}
