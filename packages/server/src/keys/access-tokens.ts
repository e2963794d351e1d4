import { hkdfSync } from 'node:crypto';
import { SecondChanceMap, UseMark } from '../bounded-map.js';
import type { Environment } from '../domain/environment.js';
import type { ApiKeyRecord, ClientRecord } from '../domain/records.js';
import { isKeyUsable } from '../domain/records.js';
import type { KeyScope } from '../domain/scope.js';
import { type Metrics, NO_METRICS } from '../metrics/metrics.js';
import type { CredentialDirectory } from './credential-directory.js';
import { LEGACY_OVERHEAD_BYTES, LEGACY_VERSION, LegacyTokenOpener } from './legacy-token-opener.js';
import { pooledRandomBytes } from './random-pool.js';
import type { ServerSecrets } from './server-secret.js';
import { XAES_NONCE_BYTES, XAES_TAG_BYTES, Xaes256Gcm } from './xaes-256-gcm.js';

/**
 * Access tokens are sealed, not stored: XAES-256-GCM under a key derived from the server secret, over the
 * issue and expiry times, the scope, the key id and the ClientId. Nothing in them but the token id is
 * readable without the secret, a forged or altered token fails authentication before any lookup, and
 * issuing one writes nothing, so issuance is as fast as the cipher and survives restarts (and works on
 * every node that shares the secret). Whether the key and client are still valid is checked on every use.
 *
 * Layout, base64url-encoded: version (1) | nonce (24) | ciphertext | GCM tag (16), where the plaintext is
 * issued at (6, ms) | expires at (6, ms) | scope (1) | key id length (1) | key id | ClientId. The version
 * byte and the environment are bound in as associated data. The nonce is 192 random bits: XAES-256-GCM
 * derives from it a key for this token alone, so no key nears the 2^32 random nonces NIST SP 800-38D §8.3
 * allows (SECURITY.md, Sealed tokens); its first 128 bits are the token id, which needs no second random value.
 * Version 2 tokens (token id inside, one key for all) still open until they expire.
 *
 * Tokens are sealed under the current server secret and opened under each secret, current first, so that
 * tokens minted before a rotation keep working until they expire. The list is capped (`MAX_SECRETS`), so
 * a forged token costs at most that many opens, and with one secret, as usual, exactly one.
 */
const VERSION = 3;
const VERSION_BYTE = Buffer.of(VERSION);
const OVERHEAD_BYTES = 1 + XAES_NONCE_BYTES + XAES_TAG_BYTES;
const TOKEN_ID_BYTES = 16;
const SCOPE_OFFSET = 12;
const FIXED_CLAIM_BYTES = SCOPE_OFFSET + 1 + 1;
const SCOPE_BYTES: Readonly<Record<KeyScope, number>> = { read: 1, write: 2 };
/** What follows the fixed claims: a key id and a ClientId of at least one byte, at most 255 and 64. */
const MIN_CLAIM_BYTES = FIXED_CLAIM_BYTES + 2;
const MAX_CLAIM_BYTES = FIXED_CLAIM_BYTES + 255 + 64;
/** Version 2's envelope, with the token id inside, is the longer one. */
const MAX_TOKEN_CHARS = Math.ceil(((LEGACY_OVERHEAD_BYTES + TOKEN_ID_BYTES + MAX_CLAIM_BYTES) * 4) / 3);
const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;
/** Its own key, apart from version 2's: one key, one construction. */
const KEY_INFO = 'portcullis access token xaes-256-gcm v3';

/** An opened envelope: the token id and the claims that follow it. */
interface Unsealed {
  readonly tokenId: Buffer;
  readonly claims: Buffer;
}

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
  /** 128 random bits (a version-3 token's nonce begins with them): a public reference for logs and revocation. */
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
  /** Only read: where `check` finds the key and client a token names. */
  readonly directory: Pick<CredentialDirectory, 'lookup'>;
  readonly secrets: ServerSecrets;
  /** Bound into every token, so that a sandbox token never opens on a production server. */
  readonly environment: Environment;
  /** How many opened tokens to remember, so that a token in use is decrypted once (`MAX_OPENED_TOKENS`). */
  readonly maxCachedTokens?: number;
  /** Where tokens issued are counted for `/metrics`. */
  readonly metrics?: Pick<Metrics, 'tokenIssued'>;
}

export class AccessTokens {
  readonly #directory: Pick<CredentialDirectory, 'lookup'>;
  /** One per server secret, current (which seals) first. */
  readonly #xaes: readonly [Xaes256Gcm, ...Xaes256Gcm[]];
  readonly #associatedData: Buffer;
  readonly #legacy: readonly LegacyTokenOpener[];
  readonly #metrics: Pick<Metrics, 'tokenIssued'>;
  /** Opened tokens by their text, marked when used again, so that eviction keeps the ones in use. */
  readonly #opened: SecondChanceMap<string, OpenedToken>;
  #issued = 0;

  constructor(options: AccessTokensOptions) {
    this.#directory = options.directory;
    const [current, ...older] = options.secrets.all.map(
      (secret) => new Xaes256Gcm(Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), KEY_INFO, 32))),
    ) as [Xaes256Gcm, ...Xaes256Gcm[]];
    this.#xaes = [current, ...older];
    this.#associatedData = Buffer.from(`${VERSION}:${options.environment}`);
    this.#legacy = options.secrets.all.map((secret) => new LegacyTokenOpener(secret, options.environment));
    this.#opened = new SecondChanceMap(options.maxCachedTokens ?? MAX_OPENED_TOKENS);
    this.#metrics = options.metrics ?? NO_METRICS;
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
    plaintext.writeUIntBE(now, 0, 6);
    plaintext.writeUIntBE(now + lifetimeSeconds * 1000, 6, 6);
    plaintext[SCOPE_OFFSET] = SCOPE_BYTES[scope];
    identity.copy(plaintext, SCOPE_OFFSET + 1);

    const nonce = pooledRandomBytes(XAES_NONCE_BYTES);
    const sealed = Buffer.concat([
      VERSION_BYTE,
      nonce,
      this.#xaes[0].seal(nonce, plaintext, this.#associatedData),
    ]);
    // Not remembered here: a token-per-call client would fill the cache with tokens never presented.
    this.#issued++;
    this.#metrics.tokenIssued(key.clientId);
    return { accessToken: sealed.toString('base64url'), expiresIn: lifetimeSeconds };
  }

  /** What a token says, or undefined when it was not sealed by this server (or was altered). */
  open(accessToken: string): AccessTokenClaims | undefined {
    const opened = this.#opened.get(accessToken);
    if (opened === undefined) return this.#open(accessToken);
    opened.markUsed();
    return opened;
  }

  /** Whether opened claims still grant access: not expired nor revoked, key usable, client active. */
  async check(claims: AccessTokenClaims, now: number): Promise<TokenVerification> {
    if (claims.expiresAt <= now) return { ok: false, reason: 'expired' };
    // A key created a moment ago (its token minted on another process), or a client enabled a moment
    // ago, is looked for in the store.
    const entry = await this.#directory.lookup(
      claims.clientId,
      (e) => e.client.status === 'active' && e.keysById.has(claims.keyId),
    );
    const key = entry?.keysById.get(claims.keyId);
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
    for (const [token, claims] of this.#opened.entries()) {
      if (claims.expiresAt <= now) this.#opened.delete(token);
    }
  }

  #open(accessToken: string): AccessTokenClaims | undefined {
    if (accessToken.length > MAX_TOKEN_CHARS || !TOKEN_PATTERN.test(accessToken)) return undefined;
    const unsealed = this.#unseal(Buffer.from(accessToken, 'base64url'));
    if (unsealed === undefined) return undefined;
    const { tokenId, claims: plaintext } = unsealed;
    const keyIdLength = plaintext.readUInt8(SCOPE_OFFSET + 1);
    const claims = new OpenedToken(
      tokenId.toString('base64url'),
      plaintext.toString('utf8', FIXED_CLAIM_BYTES + keyIdLength),
      plaintext.toString('utf8', FIXED_CLAIM_BYTES, FIXED_CLAIM_BYTES + keyIdLength),
      plaintext[SCOPE_OFFSET] === SCOPE_BYTES.write ? 'write' : 'read',
      plaintext.readUIntBE(0, 6),
      plaintext.readUIntBE(6, 6),
    );
    this.#opened.set(accessToken, claims);
    return claims;
  }

  /** Opens the envelope, or undefined when it is of no known version, not sealed here, or altered. */
  #unseal(sealed: Buffer): Unsealed | undefined {
    switch (sealed[0]) {
      case VERSION: {
        if (!claimsFit(sealed.length - OVERHEAD_BYTES)) return undefined;
        const nonce = sealed.subarray(1, 1 + XAES_NONCE_BYTES);
        const body = sealed.subarray(1 + XAES_NONCE_BYTES);
        for (const xaes of this.#xaes) {
          const claims = xaes.open(nonce, body, this.#associatedData);
          if (claims !== undefined) return { tokenId: nonce.subarray(0, TOKEN_ID_BYTES), claims };
        }
        return undefined;
      }
      case LEGACY_VERSION: {
        if (!claimsFit(sealed.length - LEGACY_OVERHEAD_BYTES - TOKEN_ID_BYTES)) return undefined;
        for (const legacy of this.#legacy) {
          const plaintext = legacy.open(sealed);
          if (plaintext !== undefined) {
            return {
              tokenId: plaintext.subarray(0, TOKEN_ID_BYTES),
              claims: plaintext.subarray(TOKEN_ID_BYTES),
            };
          }
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/**
 * How many opened tokens are remembered: about 400 bytes each (the token's text, its claims), so at most
 * about 100 MB, for 250,000 tokens in use at once. Past it, tokens not presented since they were queued
 * go first (`SecondChanceMap`); a token forgotten is opened again on its next use (one XAES-256-GCM open,
 * about 15 µs), with no store read.
 */
const MAX_OPENED_TOKENS = 250_000;

/** Opened claims, marked when presented again (`SecondChanceMap`). The mark is private: not a claim. */
class OpenedToken extends UseMark implements AccessTokenClaims {
  constructor(
    readonly tokenId: string,
    readonly clientId: string,
    readonly keyId: string,
    readonly scope: KeyScope,
    readonly issuedAt: number,
    readonly expiresAt: number,
  ) {
    super();
  }
}

function claimsFit(length: number): boolean {
  return length >= MIN_CLAIM_BYTES && length <= MAX_CLAIM_BYTES;
}
