import type { ServerResponse } from 'node:http';
import { PortcullisError } from '../errors.js';
import type { FixedWindows, WindowState } from './fixed-windows.js';

/**
 * Counts an API call of `clientId` and states the windows in MANGOPAY's headers, one comma-separated
 * value per window: `X-RateLimit` (calls made), `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix
 * seconds). Past any window: 429 `rate_limit` with `Retry-After`.
 */
export function countApiCall(
  windows: FixedWindows,
  clientId: string,
  res: ServerResponse,
  now: number,
): void {
  if (!windows.enabled) return;
  const state = windows.hit(clientId, now);
  res.setHeader('X-RateLimit', state.made.join(','));
  res.setHeader('X-RateLimit-Remaining', state.remaining.join(','));
  res.setHeader('X-RateLimit-Reset', state.resetAt.join(','));
  if (!state.allowed)
    throw limitReached(state, 'The API rate limit is reached: wait until the time in Retry-After.');
}

/**
 * Counts a token issued to `clientId`. Past the limit: 429 telling the client to reuse its token, as
 * the seed asks ("You must not create a token for every API call").
 */
export function countTokenIssued(windows: FixedWindows, clientId: string, now: number): void {
  if (!windows.enabled) return;
  const state = windows.hit(clientId, now);
  if (!state.allowed) {
    throw limitReached(
      state,
      'Too many tokens requested: reuse your access token until it expires instead of requesting one per call.',
      `token limit reached for client ${clientId}`,
    );
  }
}

function limitReached(state: WindowState, message: string, detail?: string): PortcullisError {
  return new PortcullisError('rate_limit', {
    message,
    ...(detail !== undefined && { detail }),
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(state.retryAfterMs / 1000))) },
  });
}
