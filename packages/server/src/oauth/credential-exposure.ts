import type { IncomingMessage } from 'node:http';
import { setBounded } from '../bounded-map.js';
import { tokenFingerprint } from '../domain/records.js';
import type { Services } from '../services.js';
import { tokenExposed } from '../store/audit-entries.js';
import { parseBasicAuthorization } from './basic-credentials.js';
import { authorizationScheme, parseBearerAuthorization } from './bearer-token.js';
import { revokeAccessToken } from './token-revocation.js';

/** Exposed tokens already reported, so that a client repeating a plain-HTTP call is reported once. */
const MAX_REMEMBERED_TOKENS = 10_000;
/** Checks waiting or running at once; past this, credentials sent in clear are not looked up (and logged). */
const MAX_PENDING_CHECKS = 1_000;

/**
 * Credentials sent over plain HTTP may have been read by anyone on the path. The request is refused
 * without authenticating it (400 https_required); afterwards, a real API key it carried is flagged as
 * exposed (in `keys list` and the audit trail) and a real token is recorded; with `revokeExposedKeys`,
 * the key or token is revoked at once. Guesses change nothing: only credentials that match are acted on.
 *
 * The check starts once the answer is sent and the connection closed, so that nothing the caller can
 * time depends on whether the ClientId exists (a known client costs more store reads than an unknown
 * one). Checks are bounded: a flood of plain-HTTP requests cannot queue unbounded store work.
 */
export class CredentialExposure {
  readonly #services: Services;
  /** Token ids reported, to when they expire. */
  readonly #reportedTokens = new Map<string, number>();
  #pendingChecks = 0;
  #lastSkipLogged = 0;

  constructor(services: Services) {
    this.#services = services;
  }

  /** Schedules the check of a plain-HTTP request's credentials for after its connection has closed. */
  checkAfterAnswer(req: IncomingMessage): void {
    const authorization = req.headers.authorization;
    if (authorization === undefined) return;
    if (this.#pendingChecks >= MAX_PENDING_CHECKS) {
      this.#logSkipped();
      return;
    }
    this.#pendingChecks++;
    req.socket.once('close', () => {
      void this.#check(authorization).finally(() => {
        this.#pendingChecks--;
      });
    });
  }

  #logSkipped(): void {
    const now = Date.now();
    if (now - this.#lastSkipLogged < 60_000) return;
    this.#lastSkipLogged = now;
    this.#services.logger.warn('exposure.skipped', { detail: `over ${MAX_PENDING_CHECKS} checks pending` });
  }

  /** Never throws: a failure is logged, the plain-HTTP answer has been sent. */
  async #check(authorization: string): Promise<void> {
    const now = Date.now();
    try {
      const scheme = authorizationScheme(authorization);
      if (scheme === 'basic') await this.#basic(authorization, now);
      else if (scheme === 'bearer') await this.#bearer(authorization, now);
    } catch (error) {
      this.#services.logger.error('exposure.failed', {
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #basic(authorization: string, now: number): Promise<void> {
    const { apiKeys, store, options, logger } = this.#services;
    const parsed = parseBasicAuthorization(authorization);
    if (!parsed.ok) return;
    const { clientId, secret } = parsed.credentials;
    const hashed = apiKeys.hash(secret);
    if (!hashed.ok) return;
    // By hash alone, then compared: the same reads whether or not the ClientId exists (one, unless a
    // rotation is in progress and the key is not yet stored under the current secret).
    let found = await store.findKeyByHash(hashed.keyHash);
    for (const olderHash of found === undefined ? hashed.olderHashes() : []) {
      found ??= await store.findKeyByHash(olderHash);
    }
    const key = found?.clientId === clientId ? found : undefined;
    if (key === undefined) return;
    const revoke = options.revokeExposedKeys && key.revokedAt === null;
    if (key.exposedAt !== null && !revoke) return;
    await store.markKeyExposed(key.clientId, key.keyId, now, revoke);
    logger.warn('credentials.exposed', { clientId: key.clientId, keyId: key.keyId, revoked: revoke });
  }

  async #bearer(authorization: string, now: number): Promise<void> {
    const { tokens, store, options, logger } = this.#services;
    const token = parseBearerAuthorization(authorization);
    const claims = token === undefined ? undefined : tokens.open(token);
    if (claims === undefined || claims.expiresAt <= now || this.#reportedTokens.has(claims.tokenId)) return;
    setBounded(this.#reportedTokens, claims.tokenId, claims.expiresAt, MAX_REMEMBERED_TOKENS);
    const fingerprint = tokenFingerprint(claims.tokenId);
    if (options.revokeExposedKeys) {
      await revokeAccessToken(this.#services, claims, now, 'exposed');
    } else {
      await store.appendAuditEvents([tokenExposed(claims, false, now)]);
    }
    logger.warn('credentials.exposed', {
      clientId: claims.clientId,
      keyId: claims.keyId,
      token: fingerprint,
      revoked: options.revokeExposedKeys,
    });
  }
}
