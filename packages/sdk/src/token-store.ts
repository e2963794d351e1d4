import { createHash } from 'node:crypto';

/** A token as stored: never the API key. */
export interface StoredToken {
  readonly accessToken: string;
  /** Unix epoch milliseconds after which the token must not be used. */
  readonly expiresAt: number;
  /** Unix epoch milliseconds from which holders should get a new token: expiry less the refresh margin. */
  readonly refreshAt: number;
}

/** A stored token read back from text, or undefined when the text is not one. */
export function parseStoredToken(text: string): StoredToken | undefined {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const { accessToken, expiresAt, refreshAt } = parsed;
    if (typeof accessToken !== 'string' || typeof expiresAt !== 'number' || typeof refreshAt !== 'number') {
      return undefined;
    }
    return { accessToken, expiresAt, refreshAt };
  } catch {
    return undefined;
  }
}

/** Releases a lock taken with `TokenStore.lock`. */
export type ReleaseLock = () => Promise<void>;

/**
 * Where tokens live between calls, so that processes and machines sharing a store share a token
 * instead of each minting its own. Keys come from `tokenStoreKey` and differ for every base URL,
 * ClientId and API key, so tokens of different credentials never mix.
 */
export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  set(key: string, token: StoredToken): Promise<void>;
  /** Removes the token only if it is still `accessToken`, so a newer one stored meanwhile survives. */
  delete(key: string, accessToken: string): Promise<void>;
  /**
   * Optional: takes an exclusive lock for `ttlMs`, or resolves undefined when another holder has it, so
   * that one member of a fleet refreshes while the others wait for its token.
   */
  lock?(key: string, ttlMs: number): Promise<ReleaseLock | undefined>;
}

/**
 * The store key for a set of credentials: SHA-256 over the base URL, the ClientId and SHA-256 of the API
 * key. It names the credentials without revealing the key.
 */
export function tokenStoreKey(baseUrl: string, clientId: string, apiKey: string): string {
  const apiKeyHash = createHash('sha256').update(apiKey).digest('hex');
  return createHash('sha256').update(`${baseUrl}\n${clientId}\n${apiKeyHash}`).digest('hex');
}

/** The default store: one process, one client instance. */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, StoredToken>();

  async get(key: string): Promise<StoredToken | undefined> {
    return this.#tokens.get(key);
  }

  async set(key: string, token: StoredToken): Promise<void> {
    this.#tokens.set(key, token);
  }

  async delete(key: string, accessToken: string): Promise<void> {
    if (this.#tokens.get(key)?.accessToken === accessToken) this.#tokens.delete(key);
  }
}
