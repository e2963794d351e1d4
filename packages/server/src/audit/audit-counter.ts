import type { AuditEvent, AuditEventType } from '../store/records.js';

/** Who a counted event is about; any part may be unknown. */
export interface AuditSubject {
  readonly clientId?: string | undefined;
  readonly keyId?: string | undefined;
  readonly source?: string | undefined;
}

const MINUTE_MS = 60_000;
/** Past this many distinct subjects between two flushes, the rest are counted under one entry. */
const MAX_PENDING = 10_000;

interface Pending {
  readonly event: Omit<AuditEvent, 'count'>;
  count: number;
}

/**
 * Events that can come in floods (tokens issued, failed authentications, limits hit) are counted in
 * memory per minute and subject, and written in batches by the server's background work: the audit
 * trail shows "client C obtained 40 tokens with key K between 10:04 and 10:05", not 40 rows, and the
 * request path writes nothing. Memory is bounded: an attacker spraying addresses or ClientIds fills
 * one overflow entry per kind and minute, not the heap.
 */
export class AuditCounter {
  #pending = new Map<string, Pending>();

  count(type: AuditEventType, subject: AuditSubject, now: number): void {
    const at = now - (now % MINUTE_MS);
    const overflow = this.#pending.size >= MAX_PENDING;
    const clientId = overflow ? null : (subject.clientId ?? null);
    const keyId = overflow ? null : (subject.keyId ?? null);
    const source = overflow ? '(many)' : (subject.source ?? null);
    const id = bucketId(type, at, clientId, keyId, source);
    const pending = this.#pending.get(id);
    if (pending !== undefined) {
      pending.count++;
      return;
    }
    this.#pending.set(id, { event: { at, type, clientId, keyId, source, detail: null }, count: 1 });
  }

  /** Counts taken but not written (the store failed): added back, to be written with the next batch. */
  restore(events: readonly AuditEvent[]): void {
    for (const event of events) {
      const id = bucketId(event.type, event.at, event.clientId, event.keyId, event.source);
      const pending = this.#pending.get(id);
      if (pending !== undefined) pending.count += event.count;
      else if (this.#pending.size < MAX_PENDING) this.#pending.set(id, { event, count: event.count });
    }
  }

  /** The counts since the last call, emptied. */
  take(): AuditEvent[] {
    const taken = [...this.#pending.values()].map(({ event, count }) => ({ ...event, count }));
    this.#pending = new Map();
    return taken;
  }
}

function bucketId(...parts: readonly (string | number | null)[]): string {
  return parts.join(' ');
}
