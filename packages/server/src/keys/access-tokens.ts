import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { setBounded } from '../bounded-map.js';
import type { Environment } from '../domain/environment.js';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import { isKeyUsable } from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';
import type { CredentialDirectory } from './credential-directory.js';
import { pooledRandomBytes } from './random-pool.js';

/**
 * Access tokens are sealed, not stored: AES-256-GCM under a key derived from the server secret, over
 * a 128-bit random token id, the issue and expiry times, the key id and the ClientId. Nothing in them is
 * readable without the secret, a forged or altered token fails authentication before any lookup, and
 * issuing one writes nothing, so issuance is as fast as the cipher and survives restarts (and works on
 * every node that shares the secret). Whether the key and client are still valid is checked on every use.
 *
 * Layout, base64url-encoded: version (1) | nonce (12) | ciphertext | GCM tag (16), where the plaintext is
 * token id (16) | issued at (6, ms) | expires at (6, ms) | scope (1) | key id length (1) | key id | ClientId.
 * The version byte and the environment are bound in as associated data.
 */
const VERSION = 2;
const VERSION_BYTE = Buffer.of(VERSION);
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const TOKEN_ID_BYTES = 16;
const SCOPE_OFFSET = TOKEN_ID_BYTES + 12;
const FIXED_PLAINTEXT_BYTES = SCOPE_OFFSET + 1 + 1;
const SCOPE_BYTES: Readonly<Record<KeyScope, number>> = { read: 1, write: 2 };
const MIN_TOKEN_BYTES = 1 + NONCE_BYTES + FIXED_PLAINTEXT_BYTES + 2 + TAG_BYTES;
const MAX_TOKEN_BYTES = 1 + NONCE_BYTES + FIXED_PLAINTEXT_BYTES + 255 + 64 + TAG_BYTES;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;
const KEY_INFO = 'portcullis access token encryption v1';

/**
 * The part of the plaintext that names the key and client (key id length, key id, ClientId), made once per
 * key record: records are replaced, never changed, when a key or client changes.
 */
const identities = new WeakMap<ApiKeyRecord, Buffer>();

function identityBytes(key: ApiKeyRecord): Buffer {
  let bytes = identities.get(key);
  if (bytes === undefined) {
    const keyId = Buffer.from(key.keyId, 'utf8');
    bytes = Buffer.concat([Buffer.of(keyId.length), keyId, Buffer.from(key.clientId, 'utf8')]);
    identities.set(key, bytes);
  }
  return bytes;
}

/** What a token says about itself once opened. */
export interface AccessTokenClaims {
  /** 128 random bits: a public reference to the token for logs and revocation lists. */
  readonly tokenId: string;
  readonly clientId: string;
  readonly keyId: string;
  /** At most the key's scope: less when the token request asked for less. */
  readonly scope: KeyScope;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export type TokenRejection =
  | 'malformed'
  | 'expired'
  | 'revoked'
  | 'key_revoked_or_expired'
  | 'client_disabled';

export type TokenVerification =
  | {
      readonly ok: true;
      readonly client: ClientRecord;
      readonly key: ApiKeyRecord;
      readonly claims: AccessTokenClaims;
    }
  | { readonly ok: false; readonly reason: TokenRejection };

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
}

export interface AccessTokensOptions {
  readonly directory: CredentialDirectory;
  readonly serverSecret: Buffer;
  /** Bound into every token, so that a sandbox token never opens on a production server. */
  readonly environment: Environment;
  /** How many opened tokens to remember, so that a token in use is decrypted once. */
  readonly maxCachedTokens?: number;
}

export class AccessTokens {
  readonly #directory: CredentialDirectory;
  readonly #key: KeyObject;
  readonly #associatedData: Buffer;
  readonly #maxCachedTokens: number;
  readonly #opened = new Map<string, AccessTokenClaims>();
  #issued = 0;

  constructor(options: AccessTokensOptions) {
    this.#directory = options.directory;
    this.#key = createSecretKey(
      Buffer.from(hkdfSync('sha256', options.serverSecret, Buffer.alloc(0), KEY_INFO, 32)),
    );
    this.#associatedData = Buffer.from(`${VERSION}:${options.environment}`);
    this.#maxCachedTokens = options.maxCachedTokens ?? 100_000;
  }

  /** Tokens issued since this server started. */
  get issuedCount(): number {
    return this.#issued;
  }

  /**
   * Mints a token bound to `key` with `scope` (at most the key's); it ends when it expires, is revoked, or
   * the key or the client stops being valid.
   */
  issue(key: ApiKeyRecord, scope: KeyScope, lifetimeSeconds: number, now: number): IssuedToken {
    const identity = identityBytes(key);
    const plaintext = Buffer.allocUnsafe(SCOPE_OFFSET + 1 + identity.length);
    const random = pooledRandomBytes(NONCE_BYTES + TOKEN_ID_BYTES);
    random.copy(plaintext, 0, NONCE_BYTES);
    plaintext.writeUIntBE(now, TOKEN_ID_BYTES, 6);
    plaintext.writeUIntBE(now + lifetimeSeconds * 1000, TOKEN_ID_BYTES + 6, 6);
    plaintext[SCOPE_OFFSET] = SCOPE_BYTES[scope];
    identity.copy(plaintext, SCOPE_OFFSET + 1);

    const nonce = random.subarray(0, NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(this.#associatedData);
    const sealed = Buffer.concat([
      VERSION_BYTE,
      nonce,
      cipher.update(plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    // Not remembered here: a token-per-call client would fill the cache with tokens never presented.
    this.#issued++;
    return { accessToken: sealed.toString('base64url'), expiresIn: lifetimeSeconds };
  }

  /** What a token says, or undefined when it was not sealed by this server (or was altered). */
  open(accessToken: string): AccessTokenClaims | undefined {
    return this.#opened.get(accessToken) ?? this.#open(accessToken);
  }

  /** Whether opened claims still grant access: not expired nor revoked, key usable, client active. */
  async check(claims: AccessTokenClaims, now: number): Promise<TokenVerification> {
    if (claims.expiresAt <= now) return { ok: false, reason: 'expired' };
    // A key created a moment ago (its token minted on another process) is looked for in the store.
    const { entry, found: key } = await this.#directory.lookup(claims.clientId, (e) =>
      e.keysById.get(claims.keyId),
    );
    if (entry == null || key === undefined || !isKeyUsable(key, now)) {
      return { ok: false, reason: 'key_revoked_or_expired' };
    }
    if (entry.revokedTokenIds.size > 0 && entry.revokedTokenIds.has(claims.tokenId)) {
      return { ok: false, reason: 'revoked' };
    }
    if (entry.client.status !== 'active') return { ok: false, reason: 'client_disabled' };
    return { ok: true, client: entry.client, key, claims };
  }

  /** Forgets opened tokens that have expired. */
  sweep(now: number): void {
    for (const [token, claims] of this.#opened) if (claims.expiresAt <= now) this.#opened.delete(token);
  }

  #open(accessToken: string): AccessTokenClaims | undefined {
    if (accessToken.length > Math.ceil((MAX_TOKEN_BYTES * 4) / 3) || !TOKEN_PATTERN.test(accessToken))
      return undefined;
    const sealed = Buffer.from(accessToken, 'base64url');
    if (sealed.length < MIN_TOKEN_BYTES || sealed.length > MAX_TOKEN_BYTES || sealed[0] !== VERSION)
      return undefined;
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(1, 1 + NONCE_BYTES));
      decipher.setAAD(this.#associatedData);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      plaintext = Buffer.concat([
        decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
    const scope = plaintext[SCOPE_OFFSET] === SCOPE_BYTES.write ? 'write' : 'read';
    const keyIdLength = plaintext.readUInt8(SCOPE_OFFSET + 1);
    const claims: AccessTokenClaims = {
      tokenId: plaintext.subarray(0, TOKEN_ID_BYTES).toString('base64url'),
      scope,
      issuedAt: plaintext.readUIntBE(TOKEN_ID_BYTES, 6),
      expiresAt: plaintext.readUIntBE(TOKEN_ID_BYTES + 6, 6),
      keyId: plaintext.toString('utf8', FIXED_PLAINTEXT_BYTES, FIXED_PLAINTEXT_BYTES + keyIdLength),
      clientId: plaintext.toString('utf8', FIXED_PLAINTEXT_BYTES + keyIdLength),
    };
    setBounded(this.#opened, accessToken, claims, this.#maxCachedTokens);
    return claims;
  }
}
