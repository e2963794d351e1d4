import { CLIENT_MAX_KEYS, FixedWindows } from './fixed-windows.js';
import type { LimitWindow } from './window-spec.js';
import type { WindowState } from './window-state.js';

/**
 * Counts events per key in fixed windows. In this process (`FixedWindows`), or shared by every worker
 * and node (Redis, or a cluster's primary process), so that a limit holds for the whole service.
 * A refused event is not counted.
 */
export interface WindowCounter {
  readonly enabled: boolean;
  /** Counts one event of `key` in every window, or in none when any is full. The answer is the caller's. */
  hit(key: string, now: number): WindowState | Promise<WindowState>;
  /**
   * As `hit`, for the per-call path: an answer given at once may be the counter's own, overwritten by its
   * next call, so it is read at once and nothing of it is kept; one given later is the caller's.
   */
  hitInPlace(key: string, now: number): WindowState | Promise<WindowState>;
  /** Without counting: milliseconds until `key` may act again, or 0. */
  blockedFor(key: string, now: number): number | Promise<number>;
  /** False only when `key` has certainly not been counted: counts kept elsewhere may always hold it. */
  mayHold(key: string): boolean;
  /**
   * Keys dropped for want of room while a window of theirs was current, so counts lost: in process only
   * (`FixedWindows`); 0 where the counts live elsewhere.
   */
  readonly forgotten: number;
}

/**
 * Makes the counter of one kind of event (`space`, such as `api` or `token`) with its windows. Counters
 * of the same space and windows made by different workers or nodes count together.
 */
export interface CounterFactory {
  /** Whether other processes count into the same totals, so that a key may have been counted elsewhere. */
  readonly shared: boolean;
  /**
   * For limits counted on every call (API calls, tokens issued). Shared totals are not asked each time:
   * a round trip per call would cost more than the call (see `SyncedWindows`).
   */
  synced(space: string, windows: readonly LimitWindow[]): WindowCounter;
  /** For limits where every event matters (failed authentications): shared totals are asked each time. */
  exact(space: string, windows: readonly LimitWindow[]): WindowCounter;
}

/** Counters of this process alone: every kind is exact, since the counts are at hand. */
export const inProcessCounters: CounterFactory = {
  shared: false,
  // Synced counters are keyed by authenticated clients; exact ones (failed authentications) by what
  // unauthenticated requests send, bounded tighter.
  synced: (_space, windows) => new FixedWindows(windows, CLIENT_MAX_KEYS),
  exact: (_space, windows) => new FixedWindows(windows),
};
