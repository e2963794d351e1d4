import type { AuditCounter } from '../audit/audit-counter.js';
import type { ClientRecord } from '../domain/records.js';
import { PortcullisError, type ResponseHeaders } from '../errors.js';
import type { LimitName } from '../metrics/definitions.js';
import { type Metrics, NO_METRICS } from '../metrics/metrics.js';
import { rateLimitHeaders, retryAfterHeader } from './rate-limit-headers.js';
import type { CounterFactory, WindowCounter } from './window-counter.js';
import { type LimitWindow, parseLimitWindows } from './window-spec.js';
import type { WindowState } from './window-state.js';

/** The spaces counted per client: API calls (`api`, or `api:<windows>` for a client's own) and tokens. */
const API_CALLS = 'api';
const TOKENS = 'token';

/** Whether counts of `space` are keyed by authenticated clients (not by what any request may send). */
export function isClientLimitSpace(space: string): boolean {
  return space === API_CALLS || space === TOKENS || space.startsWith(`${API_CALLS}:`);
}

/**
 * The limit that counts in `space`, as `/metrics` names it. The spaces that are not a client's are those
 * of failed authentications.
 */
export function limitOfSpace(space: string): LimitName {
  if (space === TOKENS) return 'token';
  return isClientLimitSpace(space) ? 'rate' : 'failed_authentication';
}

/**
 * The limits counted per client: API calls in MANGOPAY's windows (the server's, or the client's own when
 * an operator set them) and tokens issued. Every refusal is counted in the audit trail.
 */
export class ClientLimits {
  readonly #counters: CounterFactory;
  readonly #defaultApiCalls: WindowCounter;
  /** Counters for clients with their own limits, one set per distinct setting. */
  readonly #apiCallsBySetting = new Map<string, WindowCounter>();
  readonly #tokenIssuance: WindowCounter;
  readonly #audit: AuditCounter;
  readonly #metrics: Pick<Metrics, 'limitRefused'>;

  constructor(
    rateLimits: readonly LimitWindow[],
    tokenLimit: readonly LimitWindow[],
    audit: AuditCounter,
    counters: CounterFactory,
    metrics: Pick<Metrics, 'limitRefused'> = NO_METRICS,
  ) {
    this.#metrics = metrics;
    this.#counters = counters;
    this.#defaultApiCalls = counters.synced(API_CALLS, rateLimits);
    this.#tokenIssuance = counters.synced(TOKENS, tokenLimit);
    this.#audit = audit;
  }

  /**
   * Counts an API call of `client` and returns MANGOPAY's headers stating its windows (`rateLimitHeaders`);
   * undefined when limits are off. Past any window: 429 `rate_limit` with `Retry-After`. The caller writes
   * the headers with its response, in one go. Answered at once when the count is decided in this process
   * (no promise to make on every call), later when the shared counter is asked; either way the caller
   * awaits it.
   */
  countApiCall(
    client: ClientRecord,
    now: number,
  ): ResponseHeaders | undefined | Promise<ResponseHeaders | undefined> {
    const windows = this.#apiCallsOf(client);
    if (!windows.enabled) return undefined;
    const state = windows.hitInPlace(client.clientId, now);
    if (state instanceof Promise) return state.then((asked) => this.#apiCallCounted(client, asked, now));
    return this.#apiCallCounted(client, state, now);
  }

  /** Read at once: `state` may be the counter's own (see `WindowCounter.hitInPlace`). */
  #apiCallCounted(client: ClientRecord, state: WindowState, now: number): ResponseHeaders {
    const headers = rateLimitHeaders(state);
    if (state.allowed) return headers;
    this.#audit.count('limit.rate', { clientId: client.clientId }, now);
    this.#metrics.limitRefused('rate');
    throw limitReached(state, 'The API rate limit is reached: wait until the time in Retry-After.', headers);
  }

  /**
   * Counts a token issued to `clientId`. Past the limit: 429 telling the client to reuse its token, as
   * MANGOPAY's documentation asks ("You must not create a token for every API call"). Answered at once or
   * later, as `countApiCall`.
   */
  countTokenIssued(clientId: string, now: number): undefined | Promise<void> {
    if (!this.#tokenIssuance.enabled) return undefined;
    const state = this.#tokenIssuance.hitInPlace(clientId, now);
    if (state instanceof Promise) return state.then((asked) => this.#tokenCounted(clientId, asked, now));
    return this.#tokenCounted(clientId, state, now);
  }

  #tokenCounted(clientId: string, state: WindowState, now: number): undefined {
    if (state.allowed) return undefined;
    this.#audit.count('limit.token', { clientId }, now);
    this.#metrics.limitRefused('token');
    throw limitReached(
      state,
      'Too many tokens requested: reuse your access token until it expires instead of requesting one per call.',
      {},
      `token limit reached for client ${clientId}`,
    );
  }

  /** Clients whose counts were lost for want of room (`WindowCounter.forgotten`), per limit. */
  get forgottenKeys(): { readonly rate: number; readonly token: number } {
    let rate = this.#defaultApiCalls.forgotten;
    for (const windows of this.#apiCallsBySetting.values()) rate += windows.forgotten;
    return { rate, token: this.#tokenIssuance.forgotten };
  }

  #apiCallsOf(client: ClientRecord): WindowCounter {
    if (client.rateLimits === null) return this.#defaultApiCalls;
    let windows = this.#apiCallsBySetting.get(client.rateLimits);
    if (windows === undefined) {
      // Its own space: a client's count under its own windows starts apart from the server-wide one.
      windows = this.#counters.synced(
        `${API_CALLS}:${client.rateLimits}`,
        parseStoredLimits(client.rateLimits),
      );
      this.#apiCallsBySetting.set(client.rateLimits, windows);
    }
    return windows;
  }
}

/** Settings are checked when an operator sets them; one that no longer parses fails closed, to none. */
function parseStoredLimits(text: string): LimitWindow[] {
  try {
    return parseLimitWindows('rate limits', text);
  } catch {
    return [{ limit: 0, windowMs: 60_000 }];
  }
}

function limitReached(
  state: WindowState,
  message: string,
  headers: ResponseHeaders,
  detail?: string,
): PortcullisError {
  return new PortcullisError('rate_limit', {
    message,
    ...(detail !== undefined && { detail }),
    headers: { ...headers, ...retryAfterHeader(state.retryAfterMs) },
  });
}
