import type { ResponseHeaders } from '../errors.js';
import type { WindowState } from './window-state.js';

/**
 * MANGOPAY's rate-limit headers, one comma-separated value per window: `X-RateLimit` (calls made),
 * `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds). The one place window state becomes text.
 */
export function rateLimitHeaders({ windows, counts, resetsAt }: WindowState): ResponseHeaders {
  if (windows.length === 0)
    return { 'X-RateLimit': '', 'X-RateLimit-Remaining': '', 'X-RateLimit-Reset': '' };
  // The counts change on every call, so these two are made each time, in one pass and without arrays.
  // Windows that began together hold the same count (aligned windows of 15 min, 30 min and 1 h all began
  // at 10:00 until 10:15): a number is written out once and its text used again for the next window.
  let count = counts[0] ?? 0;
  let left = remainingIn(windows, counts, 0);
  let countText = `${count}`;
  let leftText = `${left}`;
  let made = countText;
  let remaining = leftText;
  for (let i = 1; i < windows.length; i++) {
    const nextCount = counts[i] ?? 0;
    const nextLeft = remainingIn(windows, counts, i);
    if (nextCount !== count) {
      count = nextCount;
      countText = `${count}`;
    }
    if (nextLeft !== left) {
      left = nextLeft;
      leftText = `${left}`;
    }
    made = `${made},${countText}`;
    remaining = `${remaining},${leftText}`;
  }
  return {
    'X-RateLimit': made,
    'X-RateLimit-Remaining': remaining,
    'X-RateLimit-Reset': resetText(resetsAt),
  };
}

function remainingIn(windows: WindowState['windows'], counts: WindowState['counts'], i: number): number {
  return Math.max(0, (windows[i]?.limit ?? 0) - (counts[i] ?? 0));
}

/**
 * The last reset times written, and their text. Windows are aligned on the epoch, so every client counted
 * in the same windows resets at the same times: the text is made again when a window turns, not per call.
 * Counters answer the same array until a window turns, so the check is most often one comparison.
 */
let lastResets: readonly number[] = [];
let lastResetText = '';

function resetText(resetsAt: readonly number[]): string {
  if (resetsAt === lastResets) return lastResetText;
  if (resetsAt.length !== lastResets.length || resetsAt.some((at, i) => at !== lastResets[i])) {
    lastResetText = resetsAt.map((at) => Math.floor(at / 1000)).join(',');
  }
  lastResets = resetsAt;
  return lastResetText;
}

/** `Retry-After` in whole seconds, at least one (RFC 9110 §10.2.3, delay-seconds). */
export function retryAfterHeader(waitMs: number): ResponseHeaders {
  return { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) };
}
