import { readAudit } from '../admin/audit.js';
import { auditSummary } from '../admin/views.js';
import { type AuditEntry, type AuditEventType, auditEventTypes } from '../domain/records.js';
import { isValidClientId } from '../keys/client-id.js';
import { badFields } from './admin-input.js';
import { pageOf, pageSize, readCursor } from './paging.js';
import type { AdminResource } from './router.js';

/** RFC 3339 §5.6 `date-time`: a full date, a time, and `Z` or an offset. */
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * `/audit`: the audit trail, as `portcullis audit` reads it, one stored row per entry. With
 * `order=oldest` (the default) pages go up the entries' ids from the oldest matching one, so that
 * following `next_cursor` until it is null returns every entry exactly once, whatever is appended
 * meanwhile (new entries come on the last pages). With `order=newest` they go down from the newest one:
 * what an operator looks at first. A cursor is followed with the order it was given under.
 */
export const auditResources: readonly AdminResource[] = [
  {
    name: 'audit.list',
    method: 'GET',
    path: '/audit',
    role: 'viewer',
    query: ['client', 'type', 'since', 'until', 'order', 'limit', 'cursor'],
    async handle({ context, query }) {
      const size = pageSize(query);
      const order = readOrder(query);
      const position = readCursor(query, (text) => (/^\d{1,15}$/.test(text) ? Number(text) : undefined));
      const filters = readFilters(query);
      const from =
        order === 'oldest' ? { after: position ?? 0 } : { before: position ?? Number.MAX_SAFE_INTEGER };
      const entries = await readAudit(context.store, { ...filters, ...from, limit: size + 1 });
      return {
        status: 200,
        body: pageOf(entries, size, auditSummary, (entry: AuditEntry) => String(entry.id)),
      };
    },
  },
];

/** `order`: `oldest` first (the default, for reading the whole trail) or `newest` first. */
function readOrder(query: URLSearchParams): 'oldest' | 'newest' {
  const order = query.get('order') ?? 'oldest';
  if (order !== 'oldest' && order !== 'newest') throw badFields({ order: 'must be oldest or newest' });
  return order;
}

interface AuditFilters {
  clientId?: string;
  type?: AuditEventType;
  since?: number;
  until?: number;
}

/** `client`, `type`, `since` and `until`, every bad one named in one 400. */
function readFilters(query: URLSearchParams): AuditFilters {
  const errors: Record<string, string> = {};
  const filters: AuditFilters = {};
  const client = query.get('client');
  if (client !== null) {
    if (isValidClientId(client)) filters.clientId = client;
    else errors.client = 'is not a ClientId';
  }
  const type = query.get('type');
  if (type !== null) {
    if (isAuditEventType(type)) filters.type = type;
    else errors.type = `must be one of ${auditEventTypes.join(', ')}`;
  }
  for (const name of ['since', 'until'] as const) {
    const text = query.get(name);
    if (text === null) continue;
    const at = parseDateTime(text);
    if (at === undefined) errors[name] = 'must be an RFC 3339 date-time, such as 2026-01-31T12:00:00Z';
    else filters[name] = at;
  }
  if (filters.since !== undefined && filters.until !== undefined && filters.until <= filters.since) {
    errors.until ??= 'must be after since';
  }
  if (Object.keys(errors).length > 0) throw badFields(errors);
  return filters;
}

function isAuditEventType(type: string): type is AuditEventType {
  return (auditEventTypes as readonly string[]).includes(type);
}

/** Epoch milliseconds, or undefined for anything that is not a real RFC 3339 date-time (no 30 February). */
export function parseDateTime(text: string): number | undefined {
  const match = DATE_TIME.exec(text);
  if (match === null) return undefined;
  const at = Date.parse(text.toUpperCase());
  if (Number.isNaN(at)) return undefined;
  // Date.parse rolls over out-of-range fields (02-30 → 03-02): the local date and time must read back.
  const [, date, time, sign, hours, minutes] = match;
  const offsetMs =
    sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
  const local = new Date(at + offsetMs).toISOString();
  return local.slice(0, 10) === date && local.slice(11, 19) === time ? at : undefined;
}
