import { createHmac, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { type Environment, isEnvironment } from '../domain/environment.js';
import { randomBase62, uint32ToBase62 } from './encoding.js';

/**
 * API key format: `pcl_<environment>_<32 random base62><6 base62 CRC-32 of everything before it>`.
 *
 * - The prefix names the product and environment, so a leaked key is easy for secret scanners to spot
 *   and a sandbox key sent to production is recognised as such.
 * - The checksum rejects a mistyped or truncated key without a store lookup.
 * - 32 base62 characters carry about 190 bits from the CSPRNG.
 * - Only `[A-Za-z0-9_]`: RFC 7617 decoding and RFC 6749 Appendix B form-decoding give the same bytes.
 */
export const API_KEY_PREFIX = 'pcl_';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const API_KEY_PATTERN = /^pcl_([a-z]+)_([0-9A-Za-z]{38})$/;

export function generateApiKey(environment: Environment): string {
  const body = `${API_KEY_PREFIX}${environment}_${randomBase62(RANDOM_LENGTH)}`;
  return body + credentialChecksum(body);
}

export type ParsedApiKey =
  | { readonly ok: true; readonly environment: Environment }
  | { readonly ok: false; readonly reason: 'malformed' | 'checksum' };

/** Checks the shape and checksum of a presented key. Costs no store lookup and no secret. */
export function parseApiKey(apiKey: string): ParsedApiKey {
  const match = API_KEY_PATTERN.exec(apiKey);
  if (match === null) return { ok: false, reason: 'malformed' };
  const environment = match[1] as string;
  if (!isEnvironment(environment)) return { ok: false, reason: 'malformed' };
  const body = apiKey.slice(0, -CHECKSUM_LENGTH);
  if (credentialChecksum(body) !== apiKey.slice(-CHECKSUM_LENGTH)) return { ok: false, reason: 'checksum' };
  return { ok: true, environment };
}

/**
 * The 6 base62 characters of CRC-32 that end a credential (API keys, admin tokens): catches a mistyped
 * or truncated one without a lookup. Not a secret and no integrity protection: the HMAC lookup is that.
 */
export function credentialChecksum(body: string): string {
  return uint32ToBase62(crc32(body));
}

/**
 * The stored form of an API key: HMAC-SHA256 under the server secret. Keys are high-entropy, so a slow
 * password hash would add cost on every Basic request and no security; the secret lives outside the
 * database so that a copy of the database alone cannot be used to test guesses.
 */
export function hashApiKey(serverSecret: Buffer, apiKey: string): string {
  return createHmac('sha256', serverSecret).update(apiKey).digest('base64url');
}

/** Key ids are public (logs, audit, `X-Api-Key-Id`): random, unrelated to the key itself. */
export function generateKeyId(): string {
  return `key_${randomBytes(9).toString('base64url')}`;
}
