import type { RateLimit } from './errors.js';

/**
 * MANGOPAY's rate-limit headers carry one comma-separated value per window: calls made (`X-RateLimit`),
 * calls left (`X-RateLimit-Remaining`) and the reset time in Unix seconds (`X-RateLimit-Reset`).
 * Returns undefined when the response carries none, or they do not line up.
 */
export function parseRateLimits(headers: Headers): RateLimit[] | undefined {
  const made = numbers(headers.get('x-ratelimit'));
  const remaining = numbers(headers.get('x-ratelimit-remaining'));
  const reset = numbers(headers.get('x-ratelimit-reset'));
  if (made === undefined || remaining === undefined || reset === undefined) return undefined;
  if (made.length !== remaining.length || made.length !== reset.length) return undefined;
  return made.map((value, i) => ({
    made: value,
    remaining: remaining[i] as number,
    resetAt: reset[i] as number,
  }));
}

/**
 * How long to wait before retrying a 429: `Retry-After` in seconds or as an HTTP date (RFC 9110 §10.2.3),
 * else the earliest reset of an exhausted window, else undefined.
 */
export function retryDelayMs(
  headers: Headers,
  rateLimits: readonly RateLimit[] | undefined,
  now: number,
): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    if (/^\d+$/.test(retryAfter.trim())) return Number(retryAfter.trim()) * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const exhausted = rateLimits?.filter((limit) => limit.remaining <= 0) ?? [];
  if (exhausted.length === 0) return undefined;
  return Math.max(0, Math.min(...exhausted.map((limit) => limit.resetAt * 1000)) - now);
}

function numbers(header: string | null): number[] | undefined {
  if (header === null) return undefined;
  const values = header.split(',').map((part) => Number(part.trim()));
  return values.every(Number.isFinite) ? values : undefined;
}
