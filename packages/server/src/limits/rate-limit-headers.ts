import type { ResponseHeaders } from '../errors.js';
import type { WindowState } from './window-state.js';

/**
 * MANGOPAY's rate-limit headers, one comma-separated value per window: `X-RateLimit` (calls made),
 * `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds). The one place window state becomes text.
 */
export function rateLimitHeaders({ windows, counts, resetsAt }: WindowState): ResponseHeaders {
  let made = '';
  let remaining = '';
  let reset = '';
  for (let i = 0; i < windows.length; i++) {
    const separator = i === 0 ? '' : ',';
    const count = counts[i] ?? 0;
    made += separator + count;
    remaining += separator + Math.max(0, (windows[i]?.limit ?? 0) - count);
    reset += separator + Math.floor((resetsAt[i] ?? 0) / 1000);
  }
  return { 'X-RateLimit': made, 'X-RateLimit-Remaining': remaining, 'X-RateLimit-Reset': reset };
}

/** `Retry-After` in whole seconds, at least one (RFC 9110 §10.2.3, delay-seconds). */
export function retryAfterHeader(waitMs: number): ResponseHeaders {
  return { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) };
}
