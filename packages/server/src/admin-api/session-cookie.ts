import type { IncomingMessage } from 'node:http';
import { PortcullisError } from '../errors.js';

/**
 * The dashboard's session cookie. `__Host-` (RFC 6265bis §4.1.3.2): the browser keeps it only if it was
 * set Secure, with Path=/ and no Domain, so no other host under the same domain can set or shadow it.
 * HttpOnly keeps it from the page's scripts; SameSite=Strict from every request another site starts.
 */
export const SESSION_COOKIE = '__Host-portcullis-session';

/**
 * The session cookie's value, or undefined when the request has none. A cookie header that names it twice
 * is refused: which of the two a server reads differs from one to the next.
 */
export function sessionCookie(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  let found: string | undefined;
  // RFC 6265 §4.2.1: `name=value` pairs separated by "; " (Node joins repeated Cookie headers so too).
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    if (found !== undefined) {
      throw new PortcullisError('invalid_request', { message: 'The session cookie must be sent once.' });
    }
    found = pair.slice(equals + 1).trim();
  }
  return found;
}

/** Set-Cookie for a new session; the browser drops it after `maxAgeMs`, the store at the same time. */
export function sessionCookieHeader(id: string, maxAgeMs: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}`;
}

/** Set-Cookie that removes the session cookie (sign-out). */
export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}
