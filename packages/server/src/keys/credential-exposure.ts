import type { IncomingMessage } from 'node:http';
import { parseBasicAuthorization } from '../oauth/basic-credentials.js';
import { authorizationScheme, parseBearerAuthorization } from '../oauth/bearer-token.js';
import { revokeAccessToken } from '../oauth/token-revocation.js';
import type { Services } from '../services.js';
import { tokenExposed } from '../store/audit-entries.js';
import { tokenFingerprint } from '../store/records.js';

/** Exposed tokens already reported, so that a client repeating a plain-HTTP call is reported once. */
const MAX_REMEMBERED_TOKENS = 10_000;

/**
 * Credentials sent over plain HTTP may have been read by anyone on the path. The request is refused
 * without authenticating it (400 https_required); afterwards, a real API key it carried is flagged as
 * exposed (in `keys list` and the audit trail) and a real token is recorded; with `revokeExposedKeys`,
 * the key or token is revoked at once. Guesses change nothing: only credentials that match are acted on.
 */
export class CredentialExposure {
  readonly #services: Services;
  readonly #reportedTokens = new Set<string>();

  constructor(services: Services) {
    this.#services = services;
  }

  /** Never throws: a failure is logged, the plain-HTTP answer is already on its way. */
  async handle(req: IncomingMessage): Promise<void> {
    const authorization = req.headers.authorization;
    if (authorization === undefined) return;
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
    const { apiKeys, directory, store, options, logger } = this.#services;
    const parsed = parseBasicAuthorization(authorization);
    if (!parsed.ok) return;
    const { clientId, secret } = parsed.credentials;
    const hashed = apiKeys.hash(secret);
    if (!hashed.ok) return;
    const key = await apiKeys.findKey(clientId, hashed.keyHash);
    if (key === undefined) return;
    const revoke = options.revokeExposedKeys && key.revokedAt === null;
    if (key.exposedAt !== null && !revoke) return;
    await store.markKeyExposed(key.clientId, key.keyId, now, revoke);
    directory.invalidate([key.clientId]);
    this.#services.announceChange();
    logger.warn('credentials.exposed', { clientId: key.clientId, keyId: key.keyId, revoked: revoke });
  }

  async #bearer(authorization: string, now: number): Promise<void> {
    const { tokens, store, options, logger } = this.#services;
    const token = parseBearerAuthorization(authorization);
    const claims = token === undefined ? undefined : tokens.open(token);
    if (claims === undefined || claims.expiresAt <= now || this.#reportedTokens.has(claims.tokenId)) return;
    if (this.#reportedTokens.size >= MAX_REMEMBERED_TOKENS) this.#reportedTokens.clear();
    this.#reportedTokens.add(claims.tokenId);
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
