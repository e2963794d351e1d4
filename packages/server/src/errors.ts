/**
 * The error catalogue: every failure Portcullis answers with has a stable code here, its HTTP status and
 * the generic message sent on the wire. The precise cause travels in `detail`, which is logged and never
 * sent. README.md lists the same codes; a test fails when the two drift apart.
 */
export const errorCatalogue = {
  https_required: { status: 400, message: 'HTTPS is required: this port only speaks TLS.' },
  invalid_request: { status: 400, message: 'The request is malformed.' },
  unsupported_grant_type: { status: 400, message: 'Only grant_type=client_credentials is supported.' },
  invalid_scope: { status: 400, message: "The requested scope is unknown or exceeds the API key's scope." },
  param_error: { status: 400, message: 'One or several parameters are missing or incorrect.' },
  invalid_client: { status: 401, message: 'Client authentication failed.' },
  authentication_required: { status: 401, message: 'Authentication is required.' },
  invalid_credentials: { status: 401, message: 'The ClientId or API key is not valid.' },
  wrong_environment: { status: 401, message: 'This API key belongs to another environment.' },
  invalid_token: { status: 401, message: 'The access token is invalid or has expired.' },
  forbidden: { status: 403, message: 'These credentials do not give access to this resource.' },
  insufficient_scope: {
    status: 403,
    message: 'This API key or token may only read: a write-scoped key is needed for this call.',
  },
  csrf_token_invalid: {
    status: 403,
    message: 'A change made in a dashboard session must carry its CSRF token (X-CSRF-Token).',
  },
  browser_not_allowed: {
    status: 403,
    message:
      'This API is server-to-server only: a call from a browser would expose the API key or token to anyone using the page.',
  },
  not_found: { status: 404, message: 'The resource does not exist.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this resource.' },
  conflict: {
    status: 409,
    message: 'The request conflicts with what exists: a name taken, or a state that does not allow it.',
  },
  request_timeout: { status: 408, message: 'The request was not received in time.' },
  payload_too_large: { status: 413, message: 'The request body is too large.' },
  rate_limit: { status: 429, message: 'Too many requests: wait until the time in Retry-After.' },
  header_too_large: { status: 431, message: 'The request headers are too large.' },
  server_error: { status: 500, message: 'The server failed to handle the request.' },
  upstream_unavailable: { status: 502, message: 'The upstream API could not be reached.' },
  store_unavailable: { status: 503, message: 'Credentials cannot be checked right now: try again shortly.' },
  cache_unavailable: { status: 503, message: 'Limits cannot be checked right now: try again shortly.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export type ResponseHeaders = Readonly<Record<string, string | readonly string[]>>;

export interface PortcullisErrorOptions {
  /** Replaces the catalogue message on the wire. Must never contain a secret. */
  message?: string;
  /** The precise cause, for the log only. Must never contain a secret. */
  detail?: string;
  /** Extra response headers, e.g. `WWW-Authenticate` or `Allow`. */
  headers?: ResponseHeaders;
  /** Per-field messages, sent in the `errors` member of MANGOPAY's error shape. */
  fieldErrors?: Readonly<Record<string, string>>;
}

/** The one error base class: callers branch on `code`, never on the message. */
export class PortcullisError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: ResponseHeaders;
  readonly fieldErrors: Readonly<Record<string, string>> | null;

  constructor(code: ErrorCode, options: PortcullisErrorOptions = {}) {
    super(options.message ?? errorCatalogue[code].message);
    this.name = 'PortcullisError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.fieldErrors = options.fieldErrors ?? null;
  }
}

/**
 * 503 for a store or cache that cannot be reached or did not answer: nothing is let in on a guess, and
 * the client may try again in a second. `cause` (an error or a description) goes to the log only.
 */
export function unavailable(
  code: 'store_unavailable' | 'cache_unavailable',
  cause: unknown,
): PortcullisError {
  return new PortcullisError(code, { detail: causeOf(cause), headers: { 'Retry-After': '1' } });
}

/** Anything that is not a PortcullisError is a bug or an outage: it becomes a generic server_error. */
export function toPortcullisError(error: unknown): PortcullisError {
  if (error instanceof PortcullisError) return error;
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new PortcullisError('server_error', { detail });
}

function causeOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
