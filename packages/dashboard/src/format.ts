/** A time for people: local, to the second; `—` for none. */
export function when(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
}

/** A `datetime-local` field's value as RFC 3339 (UTC), or undefined when empty. */
export function fromLocalInput(value: string): string | undefined {
  if (value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** An optional integer field: undefined when empty, NaN kept so the server names the field. */
export function optionalInteger(value: string): number | undefined {
  return value.trim() === '' ? undefined : Number(value);
}
