import { badFields } from './admin-input.js';

/** Items per page unless `limit` says otherwise, and the most it may say. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** A page of a listing: `next_cursor` fetches the next one, null on the last. */
export interface Page<T> {
  readonly data: readonly T[];
  readonly next_cursor: string | null;
}

/** `?limit=`: 1 to MAX_PAGE_SIZE. */
export function pageSize(query: URLSearchParams): number {
  const text = query.get('limit');
  if (text === null) return DEFAULT_PAGE_SIZE;
  const size = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(size >= 1 && size <= MAX_PAGE_SIZE)) {
    throw badFields({ limit: `must be an integer from 1 to ${MAX_PAGE_SIZE}` });
  }
  return size;
}

/**
 * Cursors are opaque to callers (base64url of where the last page ended), so that their form can change;
 * `decode` checks what it finds, and a cursor that is not one of ours is a 400 naming `cursor`.
 */
export function readCursor<T>(
  query: URLSearchParams,
  decode: (position: string) => T | undefined,
): T | undefined {
  const cursor = query.get('cursor');
  if (cursor === null) return undefined;
  const position = /^[A-Za-z0-9_-]{1,200}$/.test(cursor)
    ? decode(Buffer.from(cursor, 'base64url').toString('utf8'))
    : undefined;
  if (position === undefined) throw badFields({ cursor: 'is not a cursor this API gave' });
  return position;
}

/**
 * A page from `items`, read with one more than `size` asked for: when that extra one came, there is a
 * next page, starting after the last item kept.
 */
export function pageOf<Item, View>(
  items: readonly Item[],
  size: number,
  view: (item: Item) => View,
  position: (item: Item) => string,
): Page<View> {
  const kept = items.slice(0, size);
  const last = kept.at(-1);
  return {
    data: kept.map(view),
    next_cursor:
      items.length > size && last !== undefined ? Buffer.from(position(last)).toString('base64url') : null,
  };
}
