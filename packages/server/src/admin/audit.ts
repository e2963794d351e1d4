import type { AuditEntry, AuditQuery } from '../domain/records.js';
import { UNIT_MS } from '../limits/window-spec.js';
import type { Store } from '../store/store.js';
import { AdminError } from './admin.js';

/** Entries younger than this cannot be pruned, so that a slip (`30m` for `30d`) cannot empty the trail. */
const YOUNGEST_PRUNABLE_MS = UNIT_MS.d as number;

/** The audit entries, with their ids: the latest, oldest first, or with `after` the next ones (Store.readAudit). */
export function readAudit(store: Store, query: AuditQuery): Promise<AuditEntry[]> {
  return store.readAudit(query);
}

/**
 * Removes the entries older than `before` (at least a day back); the pruning is recorded in the trail.
 * Resolves with the number removed.
 */
export async function pruneAudit(store: Store, before: number, now: number): Promise<number> {
  if (before > now - YOUNGEST_PRUNABLE_MS) {
    throw new AdminError(
      'invalid',
      'the cutoff must be at least a day back: the audit trail keeps its last day',
      'before',
    );
  }
  return store.pruneAudit(before, now);
}
