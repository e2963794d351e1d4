import { credentialChecksum } from './api-key.js';
import { randomBase62 } from './encoding.js';

/**
 * Admin token format: `pca_<32 random base62><6 base62 CRC-32 of everything before it>`, the API key's
 * design (keys/api-key.ts) under a prefix of its own. An API key (`pcl_`) is never an admin token, nor
 * the reverse: different prefix, different table. Stored as `hashApiKey(secret, token)` like a key.
 */
export const ADMIN_TOKEN_PREFIX = 'pca_';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const ADMIN_TOKEN_PATTERN = /^pca_[0-9A-Za-z]{38}$/;

export function generateAdminToken(): string {
  const body = ADMIN_TOKEN_PREFIX + randomBase62(RANDOM_LENGTH);
  return body + credentialChecksum(body);
}

/** Whether `text` has an admin token's shape and checksum. Costs no store lookup and no secret. */
export function parseAdminToken(text: string): boolean {
  if (!ADMIN_TOKEN_PATTERN.test(text)) return false;
  return credentialChecksum(text.slice(0, -CHECKSUM_LENGTH)) === text.slice(-CHECKSUM_LENGTH);
}
