import type { ResponseHeaders } from '../errors.js';
import type { WindowState } from './window-state.js';

/**
 * MANGOPAY's rate-limit headers, one comma-separated value per window: `X-RateLimit` (calls made),
 * `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds). The one place window state becomes text.
 */
export function rateLimitHeaders({ windows, counts, resetsAt }: WindowState): ResponseHeaders {
  let made = '';
  let remaining = '';
  for (let i = 0; i < windows.length; i++) {
    const separator = i === 0 ? '' : ',';
    const count = counts[i] ?? 0;
    made += separator + count;
    remaining += separator + Math.max(0, (windows[i]?.limit ?? 0) - count);
  }
  return {
    'X-RateLimit': made,
    'X-RateLimit-Remaining': remaining,
    'X-RateLimit-Reset': resetText(resetsAt),
  };
}

/**
 * The last reset times written, and their text. Windows are aligned on the epoch, so every client counted
 * in the same windows resets at the same times: the text is made again when a window turns, not per call.
 */
let lastResets: readonly number[] = [];
let lastResetText = '';

function resetText(resetsAt: readonly number[]): string {
  if (resetsAt.length === lastResets.length && resetsAt.every((at, i) => at === lastResets[i])) {
    return lastResetText;
  }
  lastResets = resetsAt;
  lastResetText = resetsAt.map((at) => Math.floor(at / 1000)).join(',');
  return lastResetText;
}

/** `Retry-After` in whole seconds, at least one (RFC 9110 §10.2.3, delay-seconds). */
export function retryAfterHeader(waitMs: number): ResponseHeaders {
  return { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) };
}
