import type { LimitWindow } from './window-spec.js';

/**
 * Where one key stands in each window after a hit, as MANGOPAY's rate-limit headers state it: one
 * comma-separated value per window. Built as strings directly, since every API response carries them.
 */
export interface WindowState {
  readonly allowed: boolean;
  /** Events counted so far in each window. */
  readonly made: string;
  readonly remaining: string;
  /** When each window resets, Unix seconds. */
  readonly resetAt: string;
  /** When refused: milliseconds until the earliest exhausted window resets. */
  readonly retryAfterMs: number;
}

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
