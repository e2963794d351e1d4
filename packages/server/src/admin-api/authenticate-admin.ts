import { timingSafeEqual } from 'node:crypto';
import type { ActiveAdminSession, AdminRecord, AdminRole } from '../domain/records.js';
import { PortcullisError } from '../errors.js';
import { parseBearerAuthorization } from '../oauth/bearer-token.js';
import { checkUnderFailureLimits } from '../oauth/failure-limits.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { singleHeader } from '../wire/request.js';
import { sessionCookie } from './session-cookie.js';

/** The admin listener's challenge (RFC 6750 §3): its own realm, so that no client key is offered there. */
const REALM = 'portcullis-admin';
/** RFC 9110 §11.6.1: every 401 names a scheme to use, the session cookie's included. */
export const ADMIN_CHALLENGE = `Bearer realm="${REALM}"`;

const INVALID_TOKEN_CHALLENGE = `Bearer realm="${REALM}", error="invalid_token"`;

export type AdminAuthenticationServices = Pick<
  Services,
  'admins' | 'adminSessions' | 'failedAuthentications'
>;

/** Who made an admin request, and the dashboard session it was made in, if any. */
export interface AuthenticatedAdmin {
  readonly admin: AdminRecord;
  readonly session: ActiveAdminSession | undefined;
}

/**
 * Authenticates an admin request: `Authorization: Bearer <admin token>` (RFC 6750 §2.1), or the
 * dashboard's session cookie, whose changes must also carry the session's CSRF token. API keys and access
 * tokens are not admin tokens (another prefix, another table), so they fail here like any wrong token.
 * Failures count against the address under the same brute-force limits as the public API's, and past
 * them the address is refused (429) before anything is checked.
 */
export async function authenticateAdmin(
  services: AdminAuthenticationServices,
  exchange: Exchange,
): Promise<AuthenticatedAdmin> {
  const authorization = singleHeader(exchange.req, 'authorization');
  if (authorization !== undefined) {
    const token = parseBearerAuthorization(authorization);
    if (token === undefined) {
      // Counted too: a malformed header is one more try.
      await countFailure(services, exchange);
      throw invalidToken('not a Bearer token', ADMIN_CHALLENGE);
    }
    return { admin: await checkAdminToken(services, exchange, token, 'bearer'), session: undefined };
  }
  const sessionId = sessionCookie(exchange.req);
  if (sessionId === undefined) {
    throw new PortcullisError('authentication_required', {
      headers: { 'WWW-Authenticate': ADMIN_CHALLENGE },
    });
  }
  const result = await checkUnderFailureLimits<{ readonly ok: true; readonly session: ActiveAdminSession }>(
    services.failedAuthentications,
    exchange.clientAddress,
    exchange.now,
    () => undefined,
    async () => {
      const session = await services.adminSessions.find(sessionId, exchange.now);
      return session === undefined ? { ok: false, reason: 'unknown_session' } : { ok: true, session };
    },
  );
  if (!result.ok) {
    throw new PortcullisError('invalid_token', {
      message: 'The session has ended: sign in again.',
      detail: 'admin session unknown, ended or expired',
      headers: { 'WWW-Authenticate': ADMIN_CHALLENGE },
    });
  }
  const { session } = result;
  if (exchange.req.method !== 'GET' && exchange.req.method !== 'HEAD') checkCsrfToken(exchange, session);
  exchange.caller = { method: 'session', admin: session.admin.name };
  return { admin: session.admin, session };
}

/** An admin token, checked under the brute-force limits: by a Bearer header, or at sign-in. */
export async function checkAdminToken(
  { admins, failedAuthentications }: AdminAuthenticationServices,
  exchange: Exchange,
  token: string,
  via: 'bearer' | 'session',
): Promise<AdminRecord> {
  const result = await checkUnderFailureLimits<{ readonly ok: true; readonly admin: AdminRecord }>(
    failedAuthentications,
    exchange.clientAddress,
    exchange.now,
    () => undefined,
    async () => {
      const admin = await admins.find(token, exchange.now);
      return admin === undefined ? { ok: false, reason: 'unknown_admin_token' } : { ok: true, admin };
    },
  );
  if (!result.ok)
    throw invalidToken(`admin authentication failed: ${result.reason}`, INVALID_TOKEN_CHALLENGE);
  exchange.caller = { method: via, admin: result.admin.name };
  return result.admin;
}

/**
 * The synchronizer token pattern: a change made with the session cookie must carry the session's own CSRF
 * token in `X-CSRF-Token`, which a page of another origin cannot read, so it cannot forge the change.
 */
function checkCsrfToken(exchange: Exchange, session: ActiveAdminSession): void {
  const sent = singleHeader(exchange.req, 'x-csrf-token');
  const expected = Buffer.from(session.csrfToken);
  if (sent !== undefined && sent.length === expected.length && timingSafeEqual(Buffer.from(sent), expected)) {
    return;
  }
  throw new PortcullisError('csrf_token_invalid', {
    detail: sent === undefined ? 'no X-CSRF-Token header' : 'X-CSRF-Token does not match the session',
  });
}

async function countFailure(services: AdminAuthenticationServices, exchange: Exchange): Promise<void> {
  await checkUnderFailureLimits(
    services.failedAuthentications,
    exchange.clientAddress,
    exchange.now,
    () => undefined,
    () => ({ ok: false, reason: 'not_bearer' }),
  );
}

function invalidToken(detail: string, challenge: string): PortcullisError {
  return new PortcullisError('invalid_token', {
    message: 'The admin token is invalid or has been revoked.',
    detail,
    headers: { 'WWW-Authenticate': challenge },
  });
}

/** Operators may do everything; viewers may only read (RFC 9110 §15.5.4: 403, the credentials are fine). */
export function requireRole(admin: AdminRecord, needed: AdminRole): void {
  if (needed === 'viewer' || admin.role === 'operator') return;
  throw new PortcullisError('forbidden', {
    message: 'This admin may only read: an operator is needed for this call.',
    detail: `admin ${admin.name} (${admin.role}) needs ${needed}`,
  });
}
