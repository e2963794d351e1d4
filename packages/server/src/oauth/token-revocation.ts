import { unavailable } from '../errors.js';
import type { AccessTokenClaims } from '../keys/access-tokens.js';
import type { Services } from '../services.js';

/**
 * Ends one token before it expires: its id joins its client's revoked tokens in the store, which drops
 * this node's cached view of the client and tells the others (every node refuses the token once it reads
 * the change, at once when they share a cache).
 */
export async function revokeAccessToken(
  services: Pick<Services, 'store'>,
  claims: AccessTokenClaims,
  now: number,
  reason: 'revoked' | 'exposed',
): Promise<void> {
  if (claims.expiresAt <= now) return;
  try {
    await services.store.revokeToken(
      {
        tokenId: claims.tokenId,
        clientId: claims.clientId,
        keyId: claims.keyId,
        expiresAt: claims.expiresAt,
      },
      now,
      reason,
    );
  } catch (error) {
    // RFC 7009 §2.2.1: the client may retry later.
    throw unavailable('store_unavailable', error);
  }
}
