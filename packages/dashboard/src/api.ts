// The admin API over the session cookie. Every change carries the session's CSRF token (the server refuses
// one without it); errors are RFC 9457 problem details, kept whole so that pages can show `detail` and the
// per-field `errors` beside their fields.
import type { components } from './generated/admin-api.js';

export type Schemas = components['schemas'];
export type Client = Schemas['Client'];
export type Key = Schemas['Key'];
export type NewKey = Schemas['NewKey'];
export type AuditEntry = Schemas['AuditEntry'];
export type Introspector = Schemas['Introspector'];
export type Admin = Schemas['Admin'];
export type Problem = Schemas['Problem'];
export type AdminRole = Admin['role'];

/** The session the admin listener keeps for a signed-in browser (its cookie is HttpOnly). */
export type Session = Schemas['Session'];

/** `GET /admin/v1/stats`: counts per interval over the last hour, oldest first. */
export type Stats = Schemas['Stats'];

export const API = '/admin/v1';

/** A refusal from the API, with what its problem details say. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  /** Offending body members or URL parameters, each with what is wrong with it. */
  readonly fields: Readonly<Record<string, string>>;

  constructor(status: number, problem: Partial<Problem> | undefined) {
    super(problem?.detail ?? problem?.title ?? `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code;
    this.fields = problem?.errors ?? {};
  }
}

let csrfToken: string | undefined;
let onSignedOut: (() => void) | undefined;

/** Sets the CSRF token sent with every change, and what to do when the session has ended. */
export function useSession(session: Session | undefined, signedOut?: () => void): void {
  csrfToken = session?.csrfToken;
  if (signedOut !== undefined) onSignedOut = signedOut;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One call to the admin API; resolves with the parsed body (undefined for 204). */
export async function call<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, { title: 'The admin listener cannot be reached.' });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = typeof parsed === 'object' && parsed !== null ? (parsed as Partial<Problem>) : undefined;
    // A session that expired or was ended elsewhere: back to the sign-in page (not for the sign-in itself).
    if (response.status === 401 && !path.startsWith('/session')) onSignedOut?.();
    throw new ApiError(response.status, problem);
  }
  return parsed as T;
}

/** `?a=1&b=2` from the members that are set. */
export function query(parameters: Readonly<Record<string, string | number | undefined | null>>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export const clientPath = (clientId: string) => `/clients/${encodeURIComponent(clientId)}`;
