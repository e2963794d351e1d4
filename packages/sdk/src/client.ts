import { basicAuthorization } from './basic.js';
import {
  ApiError,
  type ApiErrorBody,
  AuthenticationError,
  BrowserEnvironmentError,
  ConfigurationError,
  InsecureTransportError,
  InvalidResponseError,
  type RateLimit,
  RateLimitError,
} from './errors.js';
import { SdkEventEmitter, type SdkEventName, type SdkListener } from './events.js';
import { readJsonObject, stringField } from './json-body.js';
import { parseRateLimits, retryDelayMs } from './rate-limits.js';
import { TokenManager } from './token-manager.js';
import { MemoryTokenStore, type TokenStore, tokenStoreKey } from './token-store.js';
import { createTransport, type FetchFunction, type Transport } from './transport.js';
import { fetchTrusting, validCa } from './trusting-fetch.js';

export interface PortcullisClientOptions {
  /** The API's origin, e.g. `https://api.sandbox.mangopay.com` or `https://127.0.0.1:8443`. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly apiKey: string;
  /** `oauth` (default): a Bearer token from the token endpoint, reused. `basic`: the key on every call. */
  readonly auth?: 'oauth' | 'basic';
  /** Where tokens are kept and shared. Default: a MemoryTokenStore of this instance. */
  readonly tokenStore?: TokenStore;
  /** The fetch to use. Default: the global fetch (or, with `ca`, one over node:https that trusts it). */
  readonly fetch?: FetchFunction;
  /**
   * The certificate(s) to trust instead of the system's authorities, as PEM text: a server with a
   * self-signed certificate, without NODE_EXTRA_CA_CERTS or turning verification off. Not with `fetch`.
   */
  readonly ca?: string | readonly string[];
  /** Timeout of every HTTP request, in milliseconds. Default 30 000. */
  readonly timeoutMs?: number;
  /** Refresh this long before expiry, capped at a tenth of the token's lifetime. Default 60. */
  readonly refreshMarginSeconds?: number;
  /** How many times a rate-limited (429) request is retried before RateLimitError. Default 2. */
  readonly maxRateLimitRetries?: number;
  /** The longest wait for a retry after 429, in milliseconds; a longer Retry-After throws at once. Default 60 000. */
  readonly maxRetryDelayMs?: number;
  /**
   * Allows `http:` base URLs to loopback hosts (127.0.0.0/8, [::1], localhost), for tests: credentials then
   * travel in clear, but never leave the machine. Other hosts stay refused. Default false.
   */
  readonly dangerouslyAllowInsecureHttp?: boolean;
}

export interface RequestOptions {
  /** Sent as JSON. */
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as `Idempotency-Key`, so that a retried POST is applied once. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

const API_VERSION = 'v2.01';

/**
 * A client for Portcullis and for any API that authenticates as MANGOPAY does. Authentication is
 * handled: with `auth: 'oauth'` a token is obtained on first use, reused until shortly before it
 * expires, refreshed once for all concurrent callers, and on a 401 dropped, renewed and the request
 * retried once. Rate limits (429) are waited out a bounded number of times.
 */
export class PortcullisClient {
  readonly #baseUrl: string;
  readonly #clientId: string;
  readonly #basic: string;
  readonly #auth: 'oauth' | 'basic';
  readonly #transport: Transport;
  readonly #tokens: TokenManager;
  readonly #maxRateLimitRetries: number;
  readonly #maxRetryDelayMs: number;
  readonly #events = new SdkEventEmitter();
  #rateLimits: readonly RateLimit[] = [];

  constructor(options: PortcullisClientOptions) {
    refuseBrowsers();
    if (typeof options !== 'object' || options === null) throw new ConfigurationError('options are required');
    const baseUrl = validBaseUrl(options.baseUrl, options.dangerouslyAllowInsecureHttp === true);
    const clientId = nonEmptyString('clientId', options.clientId);
    const apiKey = nonEmptyString('apiKey', options.apiKey);
    const auth = options.auth ?? 'oauth';
    if (auth !== 'oauth' && auth !== 'basic') throw new ConfigurationError('auth must be "oauth" or "basic"');
    if (options.ca !== undefined && options.fetch !== undefined) {
      throw new ConfigurationError("ca and fetch cannot both be given: ca is for the SDK's own fetch");
    }
    const fetchFunction =
      options.ca === undefined ? (options.fetch ?? globalThis.fetch) : fetchTrusting(validCa(options.ca));
    if (typeof fetchFunction !== 'function') throw new ConfigurationError('fetch must be a function');
    const timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 30_000);
    const refreshMarginSeconds = nonNegativeNumber(
      'refreshMarginSeconds',
      options.refreshMarginSeconds ?? 60,
    );
    this.#maxRateLimitRetries = nonNegativeNumber('maxRateLimitRetries', options.maxRateLimitRetries ?? 2);
    this.#maxRetryDelayMs = nonNegativeNumber('maxRetryDelayMs', options.maxRetryDelayMs ?? 60_000);
    const store = options.tokenStore ?? new MemoryTokenStore();
    if (
      typeof store.get !== 'function' ||
      typeof store.set !== 'function' ||
      typeof store.delete !== 'function'
    ) {
      throw new ConfigurationError('tokenStore must have get, set and delete');
    }

    this.#baseUrl = baseUrl;
    this.#clientId = clientId;
    this.#basic = basicAuthorization(clientId, apiKey);
    this.#auth = auth;
    this.#transport = createTransport(fetchFunction, timeoutMs);
    this.#tokens = new TokenManager({
      tokenUrl: `${baseUrl}/${API_VERSION}/oauth/token`,
      clientId,
      apiKey,
      store,
      storeKey: tokenStoreKey(baseUrl, clientId, apiKey),
      transport: this.#transport,
      refreshMarginSeconds,
      events: this.#events,
    });
  }

  /** The rate-limit windows reported by the last response that carried them. */
  get rateLimits(): readonly RateLimit[] {
    return this.#rateLimits;
  }

  /** Listens to `token`, `retry` and `rateLimited` events; returns a function that stops listening. */
  on<E extends SdkEventName>(name: E, listener: SdkListener<E>): () => void {
    return this.#events.on(name, listener);
  }

  /** The current access token (`auth: 'oauth'`), obtained if needed. */
  getAccessToken(): Promise<string> {
    if (this.#auth !== 'oauth') throw new ConfigurationError('getAccessToken needs auth: "oauth"');
    return this.#tokens.get();
  }

  /**
   * Calls `/v2.01/{ClientId}/{path}` and resolves to the parsed JSON answer. Error statuses become
   * ApiError (MANGOPAY's error body attached), AuthenticationError or RateLimitError; redirects RedirectError.
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(
      `${this.#baseUrl}/${API_VERSION}/${encodeURIComponent(this.#clientId)}/${path.replace(/^\/+/, '')}`,
    );
    for (const [name, value] of Object.entries(options.query ?? {}))
      url.searchParams.append(name, String(value));
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    const response = await this.#send(url.href, {
      method,
      headers,
      ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
      ...(options.signal !== undefined && { signal: options.signal }),
    });
    if (response.ok) return (await readJson(response)) as T;
    const body = await readJsonObject(response);
    if (response.status === 401) {
      throw new AuthenticationError(401, stringField(body, 'Type'), stringField(body, 'Message'));
    }
    throw new ApiError(response.status, (body ?? {}) as ApiErrorBody);
  }

  /**
   * `fetch` with authentication added, for anything under the base URL that `request` does not fit.
   * Credentials are never sent elsewhere: a redirect (whatever `init.redirect` says) is RedirectError. A 401
   * is retried once with a new token when the body can be sent again; other statuses are returned as they are.
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input, `${this.#baseUrl}/`);
    if (url.origin !== new URL(this.#baseUrl).origin || !url.href.startsWith(`${this.#baseUrl}/`)) {
      throw new ConfigurationError(`refusing to send credentials outside ${this.#baseUrl}`);
    }
    return this.#send(url.href, init, 0);
  }

  /** Sends with credentials; on 401 with a token, renews it and retries once; waits out 429s. */
  async #send(
    url: string,
    init: RequestInit,
    rateLimitRetries = this.#maxRateLimitRetries,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#sendAuthenticated(url, init);
      this.#rateLimits = parseRateLimits(response.headers) ?? this.#rateLimits;
      if (response.status !== 429 || rateLimitRetries === 0) return response;
      const waitMs = retryDelayMs(response.headers, this.#rateLimits, Date.now());
      this.#events.emit('rateLimited', { status: 429, waitMs, attempt });
      await response.body?.cancel();
      if (attempt >= rateLimitRetries || (waitMs ?? 0) > this.#maxRetryDelayMs) {
        throw new RateLimitError(this.#rateLimits, waitMs);
      }
      this.#events.emit('retry', { reason: 'rate_limited', attempt: attempt + 1 });
      await new Promise((resolve) => setTimeout(resolve, waitMs ?? 1000));
    }
  }

  async #sendAuthenticated(url: string, init: RequestInit): Promise<Response> {
    if (this.#auth === 'basic') return this.#transport(url, withAuthorization(init, this.#basic));
    const token = await this.#tokens.get();
    const response = await this.#transport(url, withAuthorization(init, `Bearer ${token}`));
    if (response.status !== 401 || !isReplayable(init.body)) return response;
    // RFC 6750 §3.1: the token was refused (revoked, expired early, server secrets changed). Renew once.
    await response.body?.cancel();
    await this.#tokens.invalidate(token);
    this.#events.emit('retry', { reason: 'invalid_token', attempt: 1 });
    const renewed = await this.#tokens.get();
    return this.#transport(url, withAuthorization(init, `Bearer ${renewed}`));
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidResponseError(`the API answered ${response.status} with a body that is not JSON`);
  }
}

function withAuthorization(init: RequestInit, authorization: string): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('authorization', authorization);
  return { ...init, headers };
}

function isReplayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob
  );
}

function refuseBrowsers(): void {
  const scope = globalThis as { window?: unknown; document?: unknown };
  if (typeof scope.window !== 'undefined' && typeof scope.document !== 'undefined') {
    throw new BrowserEnvironmentError();
  }
}

function validBaseUrl(value: unknown, allowInsecureHttp: boolean): string {
  if (typeof value !== 'string' || !URL.canParse(value))
    throw new ConfigurationError('baseUrl must be an absolute URL');
  const url = new URL(value);
  if (url.protocol === 'http:' && !(allowInsecureHttp && isLoopback(url.hostname))) {
    throw new InsecureTransportError(url.origin, allowInsecureHttp);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigurationError('baseUrl must be https:');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigurationError('baseUrl must not carry a query, fragment or credentials');
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * Hosts whose traffic never leaves the machine: 127.0.0.0/8 and ::1 (RFC 6890), and `localhost` (RFC 6761
 * §6.3). The URL parser has already normalised other spellings (`0x7f.1`, `2130706433`) to dotted quads.
 */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new ConfigurationError(`${name} must be a non-empty string`);
  return value;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(`${name} must be a positive integer`);
  }
  return value;
}

function nonNegativeNumber(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(`${name} must be a non-negative number`);
  }
  return value;
}
