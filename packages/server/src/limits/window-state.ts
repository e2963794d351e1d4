import type { LimitWindow } from './window-spec.js';

/**
 * Where one key stands in each of its windows after a hit, as numbers: headers are written from it at the
 * edge (`rateLimitHeaders`), and counts travel between processes as numbers.
 */
export interface WindowState {
  readonly allowed: boolean;
  /** The windows counted in, with their limits. */
  readonly windows: readonly LimitWindow[];
  /** Events counted so far in each window, this one included when allowed. */
  readonly counts: readonly number[];
  /** When each window turns, milliseconds since the epoch. */
  readonly resetsAt: readonly number[];
  /** When refused: milliseconds until the earliest exhausted window turns. */
  readonly retryAfterMs: number;
}

/** A `WindowState` a counter fills in place and hands out, to be read at once (`hitInPlace`). */
export type WindowAnswer = { -readonly [Field in keyof WindowState]: WindowState[Field] } & {
  counts: number[];
};

/** The state of fixed `windows` (aligned on multiples of their length) at `now`, from their counts. */
export function windowState(
  windows: readonly LimitWindow[],
  counts: readonly number[],
  allowed: boolean,
  now: number,
): WindowState {
  const resetsAt = windows.map(({ windowMs }) => now - (now % windowMs) + windowMs);
  const retryAfterMs = allowed ? 0 : waitForExhausted(windows, counts, resetsAt, now);
  return { allowed, windows, counts, resetsAt, retryAfterMs };
}

/** Milliseconds from `now` until the earliest of the exhausted windows turns (at `resetsAt`), or 0. */
export function waitForExhausted(
  windows: readonly LimitWindow[],
  counts: readonly number[],
  resetsAt: readonly number[],
  now: number,
): number {
  let wait = 0;
  for (let i = 0; i < windows.length; i++) {
    if ((counts[i] ?? 0) < (windows[i] as LimitWindow).limit) continue;
    const untilTurn = (resetsAt[i] as number) - now;
    wait = wait === 0 ? untilTurn : Math.min(wait, untilTurn);
  }
  return wait;
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

/** When each of `windows` current at `now` began. */
export function windowStarts(windows: readonly LimitWindow[], now: number): number[] {
  return windows.map(({ windowMs }) => now - (now % windowMs));
}
