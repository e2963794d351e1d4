/** A limit of `limit` events per fixed window of `windowMs`. */
export interface LimitWindow {
  readonly limit: number;
  readonly windowMs: number;
}

/** Units of time in limit windows and CLI spans. */
export const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const WINDOW_PATTERN = /^(\d+)\/(\d*)([smhd])$/;

/**
 * Parses `COUNT/WINDOW[,COUNT/WINDOW…]`, such as `2300/15m,4500/30m,8800/1h,105600/24h` or `300/10m`
 * (units s, m, h, d; `/1h` may be written `/h`); `off` gives no windows. Throws with a message naming
 * `name` when the text is not of that form.
 */
export function parseLimitWindows(name: string, text: string): LimitWindow[] {
  if (text.trim() === 'off') return [];
  return text.split(',').map((part) => {
    const match = WINDOW_PATTERN.exec(part.trim());
    const limit = Number(match?.[1]);
    const windowMs = Number(match?.[2] || 1) * (UNIT_MS[match?.[3] ?? ''] ?? Number.NaN);
    if (match === null || !Number.isSafeInteger(limit) || limit < 1 || !(windowMs > 0)) {
      throw new RangeError(`${name} must be COUNT/WINDOW[,COUNT/WINDOW…] such as 300/10m, or off`);
    }
    return { limit, windowMs };
  });
}
