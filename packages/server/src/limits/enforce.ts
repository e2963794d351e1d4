import { PortcullisError, type ResponseHeaders } from '../errors.js';
import type { FixedWindows, WindowState } from './fixed-windows.js';

/**
 * Counts an API call of `clientId` and returns MANGOPAY's headers stating the windows, one comma-separated
 * value per window: `X-RateLimit` (calls made), `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix
 * seconds); undefined when limits are off. Past any window: 429 `rate_limit` with `Retry-After`.
 * The caller writes the headers with its response, in one go.
 */
export function countApiCall(
  windows: FixedWindows,
  clientId: string,
  now: number,
): ResponseHeaders | undefined {
  if (!windows.enabled) return undefined;
  const state = windows.hit(clientId, now);
  const headers = {
    'X-RateLimit': state.made,
    'X-RateLimit-Remaining': state.remaining,
    'X-RateLimit-Reset': state.resetAt,
  };
  if (!state.allowed) {
    throw limitReached(state, 'The API rate limit is reached: wait until the time in Retry-After.', headers);
  }
  return headers;
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
      {},
      `token limit reached for client ${clientId}`,
    );
  }
}

function limitReached(
  state: WindowState,
  message: string,
  headers: ResponseHeaders,
  detail?: string,
): PortcullisError {
  return new PortcullisError('rate_limit', {
    message,
    ...(detail !== undefined && { detail }),
    headers: { ...headers, 'Retry-After': String(Math.max(1, Math.ceil(state.retryAfterMs / 1000))) },
  });
}
