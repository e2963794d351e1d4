/**
 * Every error the SDK throws is a PortcullisSdkError with a stable `code`: branch on the code (or the
 * class), never on the message.
 */
export type SdkErrorCode =
  | 'ERR_CONFIGURATION'
  | 'ERR_INSECURE_TRANSPORT'
  | 'ERR_BROWSER_ENVIRONMENT'
  | 'ERR_AUTHENTICATION'
  | 'ERR_API'
  | 'ERR_RATE_LIMITED'
  | 'ERR_NETWORK'
  | 'ERR_TIMEOUT'
  | 'ERR_INVALID_RESPONSE'
  | 'ERR_REDIRECT'
  | 'ERR_UNSAFE_TOKEN_STORE';

export class PortcullisSdkError extends Error {
  readonly code: SdkErrorCode;

  constructor(code: SdkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option is missing or invalid; the message names it. */
export class ConfigurationError extends PortcullisSdkError {
  constructor(message: string) {
    super('ERR_CONFIGURATION', message);
  }
}

/**
 * An `http:` URL without `dangerouslyAllowInsecureHttp`, or with it to a host that is not loopback: API keys
 * and tokens travel in clear only where they never leave the machine.
 */
export class InsecureTransportError extends PortcullisSdkError {
  /** `allowInsecureHttp`: the flag was set, and the host is not loopback. */
  constructor(url: string, allowInsecureHttp = false) {
    super(
      'ERR_INSECURE_TRANSPORT',
      allowInsecureHttp
        ? `refusing to send credentials to ${url} over plain HTTP: dangerouslyAllowInsecureHttp allows only loopback hosts (127.0.0.0/8, [::1], localhost)`
        : `refusing to send credentials to ${url} over plain HTTP: use https:, or set dangerouslyAllowInsecureHttp for tests on loopback`,
    );
  }
}

/**
 * The server answered a request that carried credentials with a redirect. Redirects are never followed:
 * the credentials (or, on the token endpoint, the key) would go to a URL the server chose, and the answer
 * (a token) would come from there.
 */
export class RedirectError extends PortcullisSdkError {
  readonly status: number;

  /** `target`: where the redirect points (only its origin is shown), when known. */
  constructor(status: number, target: string | null) {
    const origin = target !== null && URL.canParse(target) ? ` to ${new URL(target).origin}` : '';
    super('ERR_REDIRECT', `refusing a redirect (${status}${origin}): credentials are sent to baseUrl only`);
    this.status = status;
  }
}

/**
 * A FileTokenStore directory or file that someone else could have written: not owned by this user,
 * writable by group or others, or a symbolic link. The message names the path and what is wrong.
 */
export class UnsafeTokenStoreError extends PortcullisSdkError {
  readonly path: string;

  constructor(path: string, problem: string) {
    super('ERR_UNSAFE_TOKEN_STORE', `FileTokenStore refuses ${path}: ${problem}`);
    this.path = path;
  }
}

/** The SDK was loaded in a browser, where an API key would be exposed to every visitor. */
export class BrowserEnvironmentError extends PortcullisSdkError {
  constructor() {
    super(
      'ERR_BROWSER_ENVIRONMENT',
      'this SDK holds an API key and must run on a server: calls from a browser would expose the key to anyone who opens the page',
    );
  }
}

/** The token endpoint refused the credentials (RFC 6749 §5.2). Not retried. */
export class AuthenticationError extends PortcullisSdkError {
  readonly status: number;
  /** The RFC 6749 §5.2 `error` code, or MANGOPAY's `Type`, when the server sent one. */
  readonly error: string | undefined;

  constructor(status: number, error: string | undefined, description: string | undefined) {
    super(
      'ERR_AUTHENTICATION',
      `authentication failed (${status}${error ? ` ${error}` : ''})${description ? `: ${description}` : ''}`,
    );
    this.status = status;
    this.error = error;
  }
}

/** MANGOPAY's error body, as the server sent it. */
export interface ApiErrorBody {
  readonly Message?: string;
  readonly Type?: string;
  readonly Id?: string;
  readonly Date?: number;
  readonly errors?: Readonly<Record<string, string>> | null;
}

/** The API answered with an error status. */
export class ApiError extends PortcullisSdkError {
  readonly status: number;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(
      'ERR_API',
      `API error ${status}${body.Type ? ` ${body.Type}` : ''}${body.Message ? `: ${body.Message}` : ''}`,
    );
    this.status = status;
    this.body = body;
  }
}

/** One rate-limit window, from `X-RateLimit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`. */
export interface RateLimit {
  /** Calls made in the window. */
  readonly made: number;
  readonly remaining: number;
  /** When the window resets, Unix seconds. */
  readonly resetAt: number;
}

/** Still rate limited after the configured retries, or asked to wait longer than allowed. */
export class RateLimitError extends PortcullisSdkError {
  readonly rateLimits: readonly RateLimit[];
  /** How long the server asked to wait, in milliseconds, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(rateLimits: readonly RateLimit[], retryAfterMs: number | undefined) {
    super(
      'ERR_RATE_LIMITED',
      `rate limited${retryAfterMs === undefined ? '' : `: retry after ${Math.ceil(retryAfterMs / 1000)} s`}`,
    );
    this.rateLimits = rateLimits;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * Why a request could not be sent, read from the Node.js system or TLS error code that fetch's own error
 * ("fetch failed") carries as its cause.
 */
export type NetworkErrorReason =
  | 'connection_refused'
  | 'connection_reset'
  | 'name_not_found'
  | 'certificate_untrusted'
  | 'certificate_name_mismatch'
  | 'certificate_expired'
  | 'timeout'
  | 'other';

/** Error codes by reason: Node.js's (`ECONNREFUSED`, OpenSSL's verify codes) and undici's (`UND_ERR_…`). */
const REASONS: Readonly<Record<string, Exclude<NetworkErrorReason, 'other'>>> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  ENOTFOUND: 'name_not_found',
  EAI_AGAIN: 'name_not_found',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate_untrusted',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate_untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate_untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate_untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate_untrusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate_name_mismatch',
  CERT_HAS_EXPIRED: 'certificate_expired',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
};

const SAID: Readonly<Record<NetworkErrorReason, string>> = {
  connection_refused: 'connection refused',
  connection_reset: 'connection closed by the server',
  name_not_found: 'host name not found',
  certificate_untrusted: "the server's certificate is not trusted",
  certificate_name_mismatch: "the server's certificate is for another host name",
  certificate_expired: "the server's certificate has expired",
  timeout: 'timed out',
  other: 'request failed',
};

/**
 * The request could not be sent or its answer not received. `reason` says why, from `causeCode`, the code
 * of the innermost error that has one; the message says it in words with the system's own detail.
 */
export class NetworkError extends PortcullisSdkError {
  readonly reason: NetworkErrorReason;
  readonly causeCode: string | undefined;

  constructor(cause: unknown) {
    const root = rootCause(cause);
    const reason = (root.code !== undefined && REASONS[root.code]) || 'other';
    super('ERR_NETWORK', `network error: ${SAID[reason]} (${root.message})`, { cause });
    this.reason = reason;
    this.causeCode = root.code;
  }
}

/**
 * fetch wraps the system's error ("fetch failed" ← "connect ECONNREFUSED …"): the deepest error with a code
 * is the real one; without any, the deepest message says the most.
 */
function rootCause(error: unknown): { code: string | undefined; message: string } {
  let root = { code: undefined as string | undefined, message: String(error) };
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') root = { code, message: current.message };
    else if (root.code === undefined) root = { code: undefined, message: current.message };
    current = current.cause;
  }
  return root;
}

/** No answer within `timeoutMs`. */
export class TimeoutError extends PortcullisSdkError {
  constructor(timeoutMs: number) {
    super('ERR_TIMEOUT', `no answer within ${timeoutMs} ms`);
  }
}

/** An answer that does not follow the protocol, such as a token response missing `access_token`. */
export class InvalidResponseError extends PortcullisSdkError {
  constructor(message: string) {
    super('ERR_INVALID_RESPONSE', message);
  }
}
