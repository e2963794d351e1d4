import type { ActiveAdminSession } from '../domain/records.js';
import { PortcullisError } from '../errors.js';
import type { Exchange } from '../wire/exchange.js';
import { sendJsonText } from '../wire/respond.js';
import { FieldReader, readJsonObject } from './admin-input.js';
import {
  ADMIN_CHALLENGE,
  type AdminAuthenticationServices,
  authenticateAdmin,
  checkAdminToken,
} from './authenticate-admin.js';
import { clearedSessionCookie, sessionCookie, sessionCookieHeader } from './session-cookie.js';

/** `/admin/v1/session`: sign-in (POST), the session in force (GET), sign-out (DELETE). */
export const SESSION_PATH = '/session';

export type SessionServices = AdminAuthenticationServices;

export async function handleSessionRequest(services: SessionServices, exchange: Exchange): Promise<void> {
  const { method } = exchange.req;
  if (method === 'POST') return signIn(services, exchange);
  if (method === 'GET' || method === 'DELETE') {
    const { session, id } = await authenticateSession(services, exchange);
    if (method === 'GET') return sendSession(exchange, 200, session);
    await services.adminSessions.end(id, exchange.now);
    exchange.res.writeHead(204, { 'Cache-Control': 'no-store', 'Set-Cookie': clearedSessionCookie() });
    exchange.res.end();
    return;
  }
  throw new PortcullisError('method_not_allowed', { headers: { Allow: 'GET, POST, DELETE' } });
}

/** `POST /session {"token"}`: the admin token, checked as a Bearer one is (and counted when wrong). */
async function signIn(services: SessionServices, exchange: Exchange): Promise<void> {
  if (exchange.query !== '') {
    throw new PortcullisError('invalid_request', { message: 'This endpoint takes no URL parameters.' });
  }
  const fields = new FieldReader(await readJsonObject(exchange, ['token']));
  const token = fields.string('token', { required: true });
  fields.done();
  const admin = await checkAdminToken(services, exchange, token as string, 'session');
  const started = await services.adminSessions.start(admin, exchange.now);
  exchange.res.setHeader('Set-Cookie', sessionCookieHeader(started.id, started.expiresAt - exchange.now));
  sendSession(exchange, 201, { admin, csrfToken: started.csrfToken, expiresAt: started.expiresAt });
}

/** The session of a GET or DELETE on /session: a session, not a token, is what these act on. */
async function authenticateSession(
  services: SessionServices,
  exchange: Exchange,
): Promise<{ readonly session: ActiveAdminSession; readonly id: string }> {
  const id = sessionCookie(exchange.req);
  if (id === undefined || exchange.req.headers.authorization !== undefined) {
    throw new PortcullisError('authentication_required', {
      message: 'No session: sign in with POST /admin/v1/session.',
      headers: { 'WWW-Authenticate': ADMIN_CHALLENGE },
    });
  }
  const { session } = await authenticateAdmin(services, exchange);
  if (session === undefined) {
    throw new PortcullisError('authentication_required', {
      headers: { 'WWW-Authenticate': ADMIN_CHALLENGE },
    });
  }
  return { session, id };
}

function sendSession(exchange: Exchange, status: 200 | 201, session: ActiveAdminSession): void {
  const body = {
    name: session.admin.name,
    role: session.admin.role,
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
  sendJsonText(exchange.res, status, JSON.stringify(body), { 'Cache-Control': 'no-store' });
}
