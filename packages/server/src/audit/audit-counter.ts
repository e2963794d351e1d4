import type { AuditEvent, AuditEventType } from '../domain/records.js';

/** Who a counted event is about; any part may be unknown. */
export interface AuditSubject {
  readonly clientId?: string | undefined;
  readonly keyId?: string | undefined;
  readonly source?: string | undefined;
  /**
   * What the per-source bound counts by, when not `source` itself: the network an IPv6 address is
   * counted in (its /64), whose addresses one host can all use. Not written.
   */
  readonly sourceNetwork?: string | undefined;
}

const MINUTE_MS = 60_000;
/** Events only an authenticated client can cause: no flood of anonymous requests can fill their budget. */
const AUTHENTICATED_EVENTS: ReadonlySet<AuditEventType> = new Set([
  'tokens.issued',
  'limit.rate',
  'limit.token',
]);
/**
 * Distinct subjects each budget holds between two flushes (every 5 s). Authenticated subjects are bounded
 * by the clients and keys that exist; anonymous ones (claimed ClientIds, source addresses) by this.
 */
const AUTHENTICATED_BUDGET = 100_000;
const ANONYMOUS_BUDGET = 10_000;
/**
 * Distinct subjects one source (an address, or the /64 of an IPv6 one) may have per kind and minute. Past
 * it, further ones are counted under ClientId `(many)` and the source's network: one host guessing
 * ClientIds, or rotating through its IPv6 addresses, writes a bounded number of rows, not one per guess.
 */
const SUBJECTS_PER_SOURCE = 20;
/** Stands for the subjects that did not fit a bound; no ClientId or address can be spelled so. */
export const MANY = '(many)';

interface Pending {
  readonly event: Omit<AuditEvent, 'count'>;
  count: number;
}

/**
 * Events that can come in floods (tokens issued, failed authentications, limits hit) are counted in
 * memory per minute and subject, and written in batches by the server's background work: the audit
 * trail shows "client C obtained 40 tokens with key K between 10:04 and 10:05", not 40 rows, and the
 * request path writes nothing. Memory and rows are bounded: events of authenticated clients have a
 * budget of their own, so that a flood of anonymous requests cannot push them into an overflow entry;
 * anonymous events are bounded per source address and in all, and what does not fit is counted under
 * one overflow entry per kind and minute.
 */
export class AuditCounter {
  readonly #authenticated = new Budget(AUTHENTICATED_BUDGET);
  readonly #anonymous = new Budget(ANONYMOUS_BUDGET);

  count(type: AuditEventType, subject: AuditSubject, now: number): void {
    const at = now - (now % MINUTE_MS);
    const budget = AUTHENTICATED_EVENTS.has(type) ? this.#authenticated : this.#anonymous;
    const event = {
      at,
      type,
      clientId: subject.clientId ?? null,
      keyId: subject.keyId ?? null,
      source: subject.source ?? null,
      detail: null,
      // Counted by the server itself: no one acted.
      actor: null,
    };
    budget.count(event, subject.sourceNetwork ?? event.source);
  }

  /** Counts taken but not written (the store failed): added back, to be written with the next batch. */
  restore(events: readonly AuditEvent[]): void {
    for (const event of events) {
      (AUTHENTICATED_EVENTS.has(event.type) ? this.#authenticated : this.#anonymous).restore(event);
    }
  }

  /** The counts since the last call, emptied. */
  take(): AuditEvent[] {
    return [...this.#authenticated.take(), ...this.#anonymous.take()];
  }
}

class Budget {
  readonly #capacity: number;
  #pending = new Map<string, Pending>();
  /**
   * The subjects named so far per source address, kind and minute, for SUBJECTS_PER_SOURCE. Kept across
   * flushes within the minute: the bound is per minute, and a flood outlasts several flushes. Every name
   * in it was a pending entry, so it holds at most the budget's capacity per flush of the minute.
   */
  #namedPerSource = new Map<string, { readonly at: number; readonly named: Set<string> }>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** @param sourceNetwork what the per-source bound counts by, usually the event's source. */
  count(event: Omit<AuditEvent, 'count'>, sourceNetwork: string | null): void {
    const pending = this.#pending.get(bucketId(event));
    if (pending !== undefined) {
      pending.count++;
      return;
    }
    const bounded = this.#bounded(event, bucketId(event), sourceNetwork);
    const id = bucketId(bounded);
    const existing = this.#pending.get(id);
    if (existing !== undefined) existing.count++;
    else this.#pending.set(id, { event: bounded, count: 1 });
  }

  restore(event: AuditEvent): void {
    const id = bucketId(event);
    const pending = this.#pending.get(id);
    if (pending !== undefined) pending.count += event.count;
    else if (this.#pending.size < this.#capacity) this.#pending.set(id, { event, count: event.count });
  }

  take(): AuditEvent[] {
    const taken = [...this.#pending.values()].map(({ event, count }) => ({ ...event, count }));
    this.#pending = new Map();
    const latest = taken.reduce((newest, event) => Math.max(newest, event.at), 0);
    for (const [sourceId, { at }] of this.#namedPerSource) {
      if (at < latest) this.#namedPerSource.delete(sourceId);
    }
    return taken;
  }

  /** The event as it is counted when it would be a new subject: itself, or an overflow entry. */
  #bounded(
    event: Omit<AuditEvent, 'count'>,
    id: string,
    sourceNetwork: string | null,
  ): Omit<AuditEvent, 'count'> {
    if (this.#pending.size >= this.#capacity) {
      return { ...event, clientId: null, keyId: null, source: MANY };
    }
    if (sourceNetwork === null) return event;
    const sourceId = `${event.type} ${event.at} ${sourceNetwork}`;
    let source = this.#namedPerSource.get(sourceId);
    if (source === undefined) {
      source = { at: event.at, named: new Set() };
      this.#namedPerSource.set(sourceId, source);
    }
    if (source.named.has(id)) return event;
    if (source.named.size >= SUBJECTS_PER_SOURCE) {
      return { ...event, clientId: MANY, keyId: null, source: sourceNetwork };
    }
    source.named.add(id);
    return event;
  }
}

/** No part is empty when known (ClientIds, key ids and addresses never are), so '' can stand for unknown. */
function bucketId(event: Omit<AuditEvent, 'count'>): string {
  return `${event.type} ${event.at} ${event.clientId ?? ''} ${event.keyId ?? ''} ${event.source ?? ''}`;
}
