import { FixedWindows, type WindowState } from './fixed-windows.js';
import type { LimitWindow } from './window-spec.js';

/**
 * Counts events per key in fixed windows. In this process (`FixedWindows`), or shared by every worker
 * and node (Redis, or a cluster's primary process), so that a limit holds for the whole service.
 * A refused event is not counted.
 */
export interface WindowCounter {
  readonly enabled: boolean;
  hit(key: string, now: number): WindowState | Promise<WindowState>;
  /** Without counting: milliseconds until `key` may act again, or 0. */
  blockedFor(key: string, now: number): number | Promise<number>;
}

/**
 * Makes the counter of one kind of event (`space`, such as `api` or `token`) with its windows. Counters
 * of the same space and windows made by different workers or nodes count together.
 */
export type CounterFactory = (space: string, windows: readonly LimitWindow[]) => WindowCounter;

export const inProcessCounters: CounterFactory = (_space, windows) => new FixedWindows(windows);

/**
 * The state of `windows` from their starts and counts, for counters kept elsewhere (FixedWindows builds
 * the same strings incrementally on its hot path).
 */
export function windowState(
  windows: readonly LimitWindow[],
  counts: readonly number[],
  allowed: boolean,
  now: number,
): WindowState {
  let retryAfterMs = 0;
  const resetAt: number[] = [];
  windows.forEach(({ limit, windowMs }, i) => {
    const end = now - (now % windowMs) + windowMs;
    resetAt.push(Math.floor(end / 1000));
    if (!allowed && (counts[i] ?? 0) >= limit) {
      retryAfterMs = retryAfterMs === 0 ? end - now : Math.min(retryAfterMs, end - now);
    }
  });
  return {
    allowed,
    retryAfterMs,
    made: counts.join(','),
    remaining: windows.map(({ limit }, i) => Math.max(0, limit - (counts[i] ?? 0))).join(','),
    resetAt: resetAt.join(','),
  };
}

/** Milliseconds until every exhausted window has turned, from the counts of the current windows. */
export function blockedForFromCounts(
  windows: readonly LimitWindow[],
  counts: readonly number[],
  now: number,
): number {
  let wait = 0;
  windows.forEach(({ limit, windowMs }, i) => {
    if ((counts[i] ?? 0) >= limit) wait = Math.max(wait, windowMs - (now % windowMs));
  });
  return wait;
}
