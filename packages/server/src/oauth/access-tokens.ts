import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { CredentialDirectory } from '../keys/credential-directory.js';
import { pooledRandomBytes } from '../keys/random-pool.js';
import type { AccessTokenRecord, ApiKeyRecord, ClientRecord } from '../store/records.js';
import { isKeyUsable } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * Access tokens are opaque references: 24 bytes from the CSPRNG (192 bits) followed by an 8-byte tag,
 * HMAC-SHA256 of those bytes under the server secret, all in base64url (43 characters). The tag lets a
 * forged or mistyped token be refused without a store lookup; the store keeps only SHA-256 of the token.
 */
const RANDOM_BYTES = 24;
const TAG_BYTES = 8;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const TAG_CONTEXT = 'portcullis access token v1';

export type TokenRejection =
  | 'malformed'
  | 'unknown'
  | 'expired'
  | 'key_revoked_or_expired'
  | 'client_disabled';

export type TokenVerification =
  | {
      readonly ok: true;
      readonly client: ClientRecord;
      readonly key: ApiKeyRecord;
      readonly token: AccessTokenRecord;
    }
  | { readonly ok: false; readonly reason: TokenRejection };

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
}

export interface AccessTokensOptions {
  readonly store: Store;
  readonly directory: CredentialDirectory;
  readonly serverSecret: Buffer;
  /** Upper bound on tokens held in memory; the store still answers for the rest. */
  readonly maxCachedTokens?: number;
}

export class AccessTokens {
  readonly #store: Store;
  readonly #directory: CredentialDirectory;
  readonly #serverSecret: Buffer;
  readonly #maxCachedTokens: number;
  /** Token string → record. Validity of the key and client is checked on every use, not cached here. */
  readonly #cache = new Map<string, AccessTokenRecord>();

  constructor(options: AccessTokensOptions) {
    this.#store = options.store;
    this.#directory = options.directory;
    this.#serverSecret = options.serverSecret;
    this.#maxCachedTokens = options.maxCachedTokens ?? 200_000;
  }

  /** Mints a token bound to `key`; it ends when it expires or when the key or the client stops being valid. */
  async issue(
    client: ClientRecord,
    key: ApiKeyRecord,
    lifetimeSeconds: number,
    now: number,
  ): Promise<IssuedToken> {
    const random = pooledRandomBytes(RANDOM_BYTES);
    const accessToken = Buffer.concat([random, this.#tag(random)]).toString('base64url');
    const record: AccessTokenRecord = {
      tokenHash: hashAccessToken(accessToken),
      clientId: client.clientId,
      keyId: key.keyId,
      issuedAt: now,
      expiresAt: now + lifetimeSeconds * 1000,
    };
    await this.#store.saveAccessToken(record);
    this.#remember(accessToken, record);
    return { accessToken, expiresIn: lifetimeSeconds };
  }

  async verify(accessToken: string, now: number): Promise<TokenVerification> {
    let record = this.#cache.get(accessToken);
    if (record === undefined) {
      if (!this.#hasValidTag(accessToken)) return { ok: false, reason: 'malformed' };
      record = await this.#store.findAccessToken(hashAccessToken(accessToken));
      if (record === undefined) return { ok: false, reason: 'unknown' };
      this.#remember(accessToken, record);
    }
    if (record.expiresAt <= now) {
      this.#cache.delete(accessToken);
      return { ok: false, reason: 'expired' };
    }
    const entry = await this.#directory.get(record.clientId);
    const key = entry?.keysById.get(record.keyId);
    if (entry == null || key === undefined || !isKeyUsable(key, now)) {
      return { ok: false, reason: 'key_revoked_or_expired' };
    }
    if (entry.client.status !== 'active') return { ok: false, reason: 'client_disabled' };
    return { ok: true, client: entry.client, key, token: record };
  }

  /** Drops expired tokens from memory; the store purges its own. */
  sweep(now: number): void {
    for (const [token, record] of this.#cache) if (record.expiresAt <= now) this.#cache.delete(token);
  }

  #remember(accessToken: string, record: AccessTokenRecord): void {
    if (this.#cache.size >= this.#maxCachedTokens) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(accessToken, record);
  }

  #tag(random: Buffer): Buffer {
    return createHmac('sha256', this.#serverSecret)
      .update(TAG_CONTEXT)
      .update(random)
      .digest()
      .subarray(0, TAG_BYTES);
  }

  #hasValidTag(accessToken: string): boolean {
    if (!TOKEN_PATTERN.test(accessToken)) return false;
    const bytes = Buffer.from(accessToken, 'base64url');
    if (bytes.length !== RANDOM_BYTES + TAG_BYTES) return false;
    return timingSafeEqual(bytes.subarray(RANDOM_BYTES), this.#tag(bytes.subarray(0, RANDOM_BYTES)));
  }
}

/** Short, non-reversible reference to a token for logs and audit entries. */
export function tokenFingerprint(accessToken: string): string {
  return hashAccessToken(accessToken).slice(0, 12);
}

function hashAccessToken(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}
