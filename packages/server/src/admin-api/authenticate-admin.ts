import type { AdminRecord, AdminRole } from '../domain/records.js';
import { PortcullisError } from '../errors.js';
import { parseBearerAuthorization } from '../oauth/bearer-token.js';
import { checkUnderFailureLimits } from '../oauth/failure-limits.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { singleHeader } from '../wire/request.js';

/** The admin listener's challenge (RFC 6750 §3): its own realm, so that no client key is offered there. */
const REALM = 'portcullis-admin';
const CHALLENGE = `Bearer realm="${REALM}"`;
const INVALID_TOKEN_CHALLENGE = `Bearer realm="${REALM}", error="invalid_token"`;

export type AdminAuthenticationServices = Pick<Services, 'admins' | 'failedAuthentications'>;

/**
 * Authenticates an admin request: `Authorization: Bearer <admin token>` (RFC 6750 §2.1) and nothing
 * else. API keys and access tokens are not admin tokens (another prefix, another table), so they fail
 * here like any wrong token. Failures count against the address under the same brute-force limits as
 * the public API's, and past them the address is refused (429) before any token is checked.
 */
export async function authenticateAdmin(
  { admins, failedAuthentications }: AdminAuthenticationServices,
  exchange: Exchange,
): Promise<AdminRecord> {
  const authorization = singleHeader(exchange.req, 'authorization');
  if (authorization === undefined) {
    throw new PortcullisError('authentication_required', { headers: { 'WWW-Authenticate': CHALLENGE } });
  }
  const token = parseBearerAuthorization(authorization);
  const result = await checkUnderFailureLimits<{ readonly ok: true; readonly admin: AdminRecord }>(
    failedAuthentications,
    exchange.clientAddress,
    exchange.now,
    () => undefined,
    async () => {
      const admin = token === undefined ? undefined : await admins.find(token, exchange.now);
      return admin === undefined
        ? { ok: false, reason: token === undefined ? 'not_bearer' : 'unknown_admin_token' }
        : { ok: true, admin };
    },
  );
  if (!result.ok) {
    throw new PortcullisError('invalid_token', {
      message: 'The admin token is invalid or has been revoked.',
      detail: `admin authentication failed: ${result.reason}`,
      headers: { 'WWW-Authenticate': token === undefined ? CHALLENGE : INVALID_TOKEN_CHALLENGE },
    });
  }
  exchange.caller = { method: 'bearer', admin: result.admin.name };
  return result.admin;
}

/** Operators may do everything; viewers may only read (RFC 9110 §15.5.4: 403, the credentials are fine). */
export function requireRole(admin: AdminRecord, needed: AdminRole): void {
  if (needed === 'viewer' || admin.role === 'operator') return;
  throw new PortcullisError('forbidden', {
    message: 'This admin may only read: an operator is needed for this call.',
    detail: `admin ${admin.name} (${admin.role}) needs ${needed}`,
  });
}
