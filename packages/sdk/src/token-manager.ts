import { basicAuthorization } from './basic.js';
import { ApiError, AuthenticationError, InvalidResponseError, RateLimitError } from './errors.js';
import type { SdkEventEmitter } from './events.js';
import { readJsonObject, stringField } from './json-body.js';
import { parseRateLimits, retryDelayMs } from './rate-limits.js';
import type { StoredToken, TokenStore } from './token-store.js';
import type { Transport } from './transport.js';

/** How long a refresh lock is held at most, and how long others wait for its holder's token. */
const LOCK_TTL_MS = 10_000;
const LOCK_WAIT_MS = 5_000;
const LOCK_POLL_MS = 50;
/** Lifetime assumed when a token response omits `expires_in` (RFC 6749 §5.1 makes it RECOMMENDED). */
const UNKNOWN_LIFETIME_SECONDS = 300;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface TokenManagerOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly apiKey: string;
  readonly store: TokenStore;
  readonly storeKey: string;
  readonly transport: Transport;
  readonly refreshMarginSeconds: number;
  readonly events: SdkEventEmitter;
}

/**
 * Gets and keeps the access token of one set of credentials (RFC 6749 §4.4): reused until its refresh
 * time, refreshed once for all concurrent callers (one request in flight at a time), shared through the
 * token store, and never replaced by an older token that arrives late.
 */
export class TokenManager {
  readonly #options: TokenManagerOptions;
  #current: StoredToken | undefined;
  #inFlight: Promise<StoredToken> | undefined;
  /** Incremented by every token request; a response is applied only if no later one was applied first. */
  #requested = 0;
  #applied = 0;

  constructor(options: TokenManagerOptions) {
    this.#options = options;
  }

  /** A usable access token, from memory, the store, or the token endpoint. */
  async get(): Promise<string> {
    const current = this.#current;
    if (current !== undefined && Date.now() < current.refreshAt) return current.accessToken;
    this.#inFlight ??= this.#obtain().finally(() => {
      this.#inFlight = undefined;
    });
    return (await this.#inFlight).accessToken;
  }

  /** Forgets `accessToken` after the server refused it, here and in the shared store. */
  async invalidate(accessToken: string): Promise<void> {
    if (this.#current?.accessToken === accessToken) this.#current = undefined;
    await this.#options.store.delete(this.#options.storeKey, accessToken);
  }

  async #obtain(): Promise<StoredToken> {
    const { store, storeKey, events } = this.#options;
    const refresh = this.#current !== undefined;
    const shared = await this.#usableFromStore();
    if (shared !== undefined) {
      events.emit('token', { source: 'shared', expiresAt: shared.expiresAt, refresh });
      return this.#apply(shared, ++this.#requested);
    }
    const release = await store.lock?.(storeKey, LOCK_TTL_MS);
    try {
      if (store.lock !== undefined) {
        // Someone else may be refreshing (no lock), or may just have finished (lock taken after).
        const published =
          release === undefined ? await this.#waitForPublished() : await this.#usableFromStore();
        if (published !== undefined) {
          events.emit('token', { source: 'shared', expiresAt: published.expiresAt, refresh });
          return this.#apply(published, ++this.#requested);
        }
      }
      const sequence = ++this.#requested;
      const token = await this.#requestToken();
      await store.set(storeKey, token);
      events.emit('token', { source: 'fetched', expiresAt: token.expiresAt, refresh });
      return this.#apply(token, sequence);
    } finally {
      await release?.();
    }
  }

  #apply(token: StoredToken, sequence: number): StoredToken {
    if (sequence > this.#applied) {
      this.#applied = sequence;
      this.#current = token;
    }
    return this.#current ?? token;
  }

  async #usableFromStore(): Promise<StoredToken | undefined> {
    const stored = await this.#options.store.get(this.#options.storeKey);
    return stored !== undefined && Date.now() < stored.refreshAt ? stored : undefined;
  }

  async #waitForPublished(): Promise<StoredToken | undefined> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      const published = await this.#usableFromStore();
      if (published !== undefined) return published;
    }
    return undefined;
  }

  /** POST to the token endpoint and validate the answer field by field (RFC 6749 §5.1, §5.2). */
  async #requestToken(): Promise<StoredToken> {
    const { tokenUrl, clientId, apiKey, transport, refreshMarginSeconds } = this.#options;
    const requestedAt = Date.now();
    const response = await transport(tokenUrl, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(clientId, apiKey),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: 'grant_type=client_credentials',
    });
    const body = await readJsonObject(response);
    if (response.status === 429) {
      const limits = parseRateLimits(response.headers) ?? [];
      throw new RateLimitError(limits, retryDelayMs(response.headers, limits, Date.now()));
    }
    if (response.status >= 500) throw new ApiError(response.status, body ?? {});
    if (!response.ok) {
      const error = stringField(body, 'error') ?? stringField(body, 'Type');
      const description = stringField(body, 'error_description') ?? stringField(body, 'Message');
      throw new AuthenticationError(response.status, error, description);
    }
    const accessToken = stringField(body, 'access_token');
    if (accessToken === undefined || !TOKEN68.test(accessToken)) {
      throw new InvalidResponseError('the token response has no usable access_token');
    }
    if (stringField(body, 'token_type')?.toLowerCase() !== 'bearer') {
      throw new InvalidResponseError('the token response is not token_type Bearer');
    }
    const expiresIn = body?.expires_in ?? UNKNOWN_LIFETIME_SECONDS;
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new InvalidResponseError('the token response has an invalid expires_in');
    }
    // Refresh a margin before expiry, but never more than a tenth of the lifetime before it.
    const lifetimeMs = expiresIn * 1000;
    const marginMs = Math.min(refreshMarginSeconds * 1000, lifetimeMs / 10);
    return {
      accessToken,
      expiresAt: requestedAt + lifetimeMs,
      refreshAt: requestedAt + lifetimeMs - marginMs,
    };
  }
}
