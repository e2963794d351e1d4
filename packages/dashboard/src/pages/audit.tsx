// The audit trail, newest first, filtered by client, type and time. The page opens on the newest entries
// (`order=newest`); new ones appear by themselves: every 5 s it asks for what was written since its newest.
import { useEffect, useRef, useState } from 'preact/hooks';
import { type AuditEntry, call, query, type Schemas } from '../api.js';
import { AuditTable } from '../components/audit-table.js';
import { Alert, Empty, Field, fieldErrors, onSubmit, Select } from '../components/ui.js';
import { fromLocalInput } from '../format.js';
import { auditEntryTypeValues } from '../generated/admin-api.js';

const POLL_MS = 5_000;
const SHOWN = 500;
/** Entries a call asks for: the admin API's largest page. */
const PAGE = 200;
/** Without "since", the last day. */
const DEFAULT_SPAN_MS = 86_400_000;
/**
 * How far before the newest entry a poll starts again. Counted events are dated at the start of their
 * minute, and on PostgreSQL an entry may commit after a later one (docs/admin-api.md, Paging): ids seen
 * are skipped, so overlapping costs nothing but a few rows.
 */
const OVERLAP_MS = 90_000;

interface Filters {
  readonly client: string;
  readonly type: string;
  readonly since: string;
  readonly until: string;
}

export function AuditPage({ client }: { readonly client: string }) {
  const [form, setForm] = useState<Filters>({ client, type: '', since: '', until: '' });
  const [filters, setFilters] = useState<Filters>(form);
  const [entries, setEntries] = useState<readonly AuditEntry[]>();
  const [error, setError] = useState<unknown>();
  const seen = useRef(new Set<number>());

  useEffect(() => {
    let current = true;
    seen.current = new Set();
    setEntries(undefined);
    setError(undefined);
    const base = {
      client: filters.client.trim(),
      type: filters.type,
      until: fromLocalInput(filters.until),
    };
    let since = fromLocalInput(filters.since) ?? new Date(Date.now() - DEFAULT_SPAN_MS).toISOString();
    let opened = false;
    /** What was written since the newest entry shown (less the overlap), up from there, unseen ones only. */
    const readNewer = async (fresh: AuditEntry[]) => {
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const answer = await call<Schemas['AuditPage']>(
          'GET',
          `/audit${query({ ...base, since, limit: PAGE, cursor })}`,
        );
        for (const entry of answer.data) {
          if (!seen.current.has(entry.id)) {
            seen.current.add(entry.id);
            fresh.push(entry);
          }
        }
        if (answer.next_cursor === null) break;
        cursor = answer.next_cursor;
      }
    };
    const read = async () => {
      const fresh: AuditEntry[] = [];
      if (!opened) {
        // The newest entries first: on a busy trail, the oldest of the day are not what an operator opens.
        const answer = await call<Schemas['AuditPage']>(
          'GET',
          `/audit${query({ ...base, since, order: 'newest', limit: PAGE })}`,
        );
        for (const entry of [...answer.data].reverse()) {
          seen.current.add(entry.id);
          fresh.push(entry);
        }
        opened = true;
      } else {
        await readNewer(fresh);
      }
      if (!current) return;
      const newest = fresh.reduce((latest, entry) => Math.max(latest, Date.parse(entry.at)), 0);
      if (newest > 0) {
        const next = new Date(newest - OVERLAP_MS).toISOString();
        if (next > since) since = next;
      }
      setError(undefined);
      setEntries((previous) => [...fresh.reverse(), ...(previous ?? [])].slice(0, SHOWN));
    };
    const poll = () =>
      read().catch((caught: unknown) => {
        if (current) setError(caught);
      });
    void poll();
    const timer = window.setInterval(() => void poll(), POLL_MS);
    return () => {
      current = false;
      window.clearInterval(timer);
    };
  }, [filters]);

  const errors = fieldErrors(error);
  const set = (member: keyof Filters) => (value: string) => setForm({ ...form, [member]: value });
  return (
    <>
      <h1>Audit</h1>
      <form class="filters" onSubmit={onSubmit(() => setFilters({ ...form }))}>
        <div class="grid">
          <Field label="Client" value={form.client} onValue={set('client')} error={errors.client} />
          <Select
            label="Type"
            value={form.type}
            onValue={set('type')}
            options={[
              { value: '', label: 'Any type' },
              ...auditEntryTypeValues.map((type) => ({ value: type, label: type })),
            ]}
            error={errors.type}
          />
          <Field
            label="Since"
            type="datetime-local"
            value={form.since}
            onValue={set('since')}
            hint="Empty: the last 24 hours"
            error={errors.since}
          />
          <Field
            label="Until"
            type="datetime-local"
            value={form.until}
            onValue={set('until')}
            error={errors.until}
          />
        </div>
        <button type="submit" class="primary">
          Apply filters
        </button>
      </form>
      <p class="hint">New entries appear at the top by themselves (every 5 seconds).</p>
      <Alert error={error} />
      {entries !== undefined &&
        (entries.length === 0 ? (
          <Empty>No audit entries match these filters.</Empty>
        ) : (
          <AuditTable entries={entries} label="Audit entries" />
        ))}
    </>
  );
}
