/**
 * `Authorization: Bearer <token>` (RFC 6750 §2.1): the scheme name is case-insensitive and the token is
 * token68 syntax. Returns undefined for anything else.
 */
const BEARER_PATTERN = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function parseBearerAuthorization(header: string): string | undefined {
  return BEARER_PATTERN.exec(header)?.[1];
}

export function authorizationScheme(header: string): string {
  const space = header.indexOf(' ');
  return (space === -1 ? header : header.slice(0, space)).toLowerCase();
}
