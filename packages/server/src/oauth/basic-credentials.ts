/**
 * Strict parsing of `Authorization: Basic <credentials>` (RFC 7617 §2), for client authentication per
 * RFC 6749 §2.3.1. The scheme name is case-insensitive (RFC 7235 §2.1); the credentials must be canonical
 * base64 of UTF-8 text holding a colon. Each side is then form-decoded as RFC 6749 Appendix B asks;
 * ClientIds and API keys use no character that this decoding changes, so both encodings are accepted.
 */
export interface BasicCredentials {
  readonly clientId: string;
  readonly secret: string;
}

export type BasicParseResult =
  | { readonly ok: true; readonly credentials: BasicCredentials }
  | { readonly ok: false; readonly reason: string };

const BASIC_PATTERN = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseBasicAuthorization(header: string): BasicParseResult {
  const match = BASIC_PATTERN.exec(header);
  if (match === null) return { ok: false, reason: 'not Basic credentials in base64' };
  const encoded = match[1] as string;
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64') !== encoded) return { ok: false, reason: 'non-canonical base64' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'credentials are not UTF-8' };
  }
  const colon = text.indexOf(':');
  if (colon === -1) return { ok: false, reason: 'no colon between ClientId and key' };
  const clientId = formDecode(text.slice(0, colon));
  const secret = formDecode(text.slice(colon + 1));
  if (clientId === undefined || secret === undefined) return { ok: false, reason: 'bad percent-encoding' };
  if (clientId === '' || secret === '') return { ok: false, reason: 'empty ClientId or key' };
  return { ok: true, credentials: { clientId, secret } };
}

/** application/x-www-form-urlencoded decoding of one value; undefined when the percent-encoding is broken. */
function formDecode(value: string): string | undefined {
  if (!value.includes('%') && !value.includes('+')) return value;
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** The ClientId a Basic header claims, or undefined when it is not a well-formed Basic header. */
export function claimedClientId(header: string): string | undefined {
  const parsed = parseBasicAuthorization(header);
  return parsed.ok ? parsed.credentials.clientId : undefined;
}
