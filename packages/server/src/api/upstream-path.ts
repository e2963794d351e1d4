/**
 * Which API paths may reach an upstream. Portcullis checks that `/v2.01/{ClientId}/…` names the caller's
 * own ClientId; that check is only worth something if every server behind it reads the same ClientId from
 * the path. Upstreams do not resolve paths alike: servlet containers (Tomcat, Jetty, Spring) drop `;`
 * parameters and then remove dot segments, so `/v2.01/alice/..;/bob/x` is bob's; some frameworks decode
 * twice (`%252e`), some decode overlong UTF-8 (`%c0%ae`) or fold fullwidth dots (`%EF%BC%8E`) into `.`,
 * C code stops at NUL, Windows strips trailing dots and spaces, and slash merging differs. So a path is
 * accepted only when every one of those readings gives the same segments as ours, and the upstream
 * receives it byte for byte as checked.
 *
 * After `/v2.01/`, each segment (RFC 3986 §3.3) may hold:
 * - unreserved characters and the sub-delims other than `;` (`!$&'()*+,=`), `:` and `@`. `;` is refused
 *   because servlet containers read it as a path parameter (and drop what follows). `,` and `=` delimit
 *   parameters only after a `;` in the frameworks that give them a meaning (JAX-RS matrix parameters), so
 *   they are safe once `;` is gone;
 * - percent-escapes of those same characters and of space (`%20 %21 %24 %26 %27 %28 %29 %2A %2B %2C %3A
 *   %3D %40 %7E`, either case), which URL encoders (encodeURIComponent, Java's URLEncoder, PHP's
 *   rawurlencode) write for them. Decoding one yields a character with no meaning to path resolution, so
 *   one decoding or two give the same segments. Everything else is refused: `%2E` `%2F` `%5C` `%3B` `%3F`
 *   `%23`, `%25` (which makes a second decoding differ from the first), controls and NUL, letters and
 *   digits (no encoder writes them; they only disguise), and any escape of a byte ≥ 0x80, which is how
 *   overlong and fullwidth dots are spelled. Raw bytes outside ASCII never get here: Node refuses them.
 *
 * No segment may be empty (but the last, for a trailing slash: upstreams differ on merging `//`) or start
 * with a dot: that covers `.` and `..`, and `...` or `.. ` (`..%20`), which Windows reads as `..`.
 *
 * The ClientId segment follows the same rule; since a ClientId holds only `[A-Za-z0-9_-]`, the caller's
 * ClientId can only match a segment without escapes, which reads the same decoded or not.
 *
 * The query is forwarded as sent: dot segments and `;` parameters exist only in the path (servlet
 * containers read `;jsessionid` from the path alone, RFC 3986 §5.2.4 resolves dots in the path alone).
 * It must be printable ASCII, hold no `#` (RFC 9112 §3.2: a request target has no fragment; some upstreams
 * cut the path there) and have only well-formed escapes (a bare `%` is refused by some upstreams and kept
 * by others).
 */

const API_PREFIX = '/v2.01/';

export type ApiTarget =
  /** An API path: the ClientId segment and the rest, both as sent, which is also what is forwarded. */
  | { readonly kind: 'api'; readonly clientId: string; readonly resource: string }
  /** Not `/v2.01/{ClientId}/…` at all: no such resource. */
  | { readonly kind: 'not_api' }
  /** An API path that an upstream could read differently; `reason` is safe to send to the client. */
  | { readonly kind: 'refused'; readonly reason: string };

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const HASH = 0x23;

/** The characters allowed as such in a path segment. */
const SEGMENT_CHARACTER = asciiTable(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@",
);
/** The bytes whose percent-escape is allowed in a path segment. */
const SEGMENT_ESCAPE = asciiTable(" !$&'()*+,:=@~");
/** The characters allowed in a query: printable ASCII but `#`. */
const QUERY_CHARACTER = (() => {
  const table = new Uint8Array(128);
  for (let code = 0x21; code < 0x7f; code++) table[code] = code === HASH ? 0 : 1;
  return table;
})();

const REFUSED_SEGMENT = 'A path segment may not be empty or start with a dot.';
const REFUSED_CHARACTER =
  "A path segment may hold letters, digits, -._~!$&'()*+,=:@ and no ';' (which servlet containers read as a path parameter).";
const REFUSED_ESCAPE =
  'A path segment may hold only the escapes %20 %21 %24 %26 %27 %28 %29 %2A %2B %2C %3A %3D %40 %7E: encoded dots, slashes, backslashes, "%", NUL and non-ASCII bytes are refused.';
const REFUSED_QUERY =
  'The query may hold printable ASCII only, no "#", and "%" only as a well-formed escape.';

/**
 * Checks a request's path and query (split at the first `?`) for forwarding under the rules above.
 * One pass over each, O(length), no regular expressions.
 */
export function checkApiTarget(path: string, query: string): ApiTarget {
  if (!path.startsWith(API_PREFIX)) return { kind: 'not_api' };
  const clientIdEnd = path.indexOf('/', API_PREFIX.length);
  if (clientIdEnd === -1) return { kind: 'not_api' };
  const pathRefusal = segmentsRefusal(path, API_PREFIX.length);
  if (pathRefusal !== undefined) return { kind: 'refused', reason: pathRefusal };
  if (!isWellFormedQuery(query)) return { kind: 'refused', reason: REFUSED_QUERY };
  return {
    kind: 'api',
    clientId: path.slice(API_PREFIX.length, clientIdEnd),
    resource: path.slice(clientIdEnd + 1),
  };
}

/** Why the segments of `path` from `start` (the first character after a `/`) are refused, if they are. */
function segmentsRefusal(path: string, start: number): string | undefined {
  let segmentStart = start;
  for (let i = start; i <= path.length; i++) {
    const code = i === path.length ? SLASH : path.charCodeAt(i);
    if (code === SLASH) {
      // Empty is allowed only for the last segment (a trailing slash); the ClientId segment never is last.
      const empty = i === segmentStart;
      if (empty ? i !== path.length : path.charCodeAt(segmentStart) === DOT) return REFUSED_SEGMENT;
      segmentStart = i + 1;
    } else if (code === PERCENT) {
      const escaped = hexByte(path, i + 1);
      if (escaped === -1 || escaped >= 0x80 || SEGMENT_ESCAPE[escaped] !== 1) return REFUSED_ESCAPE;
      i += 2;
    } else if (code >= 0x80 || SEGMENT_CHARACTER[code] !== 1) {
      return REFUSED_CHARACTER;
    }
  }
  return undefined;
}

function isWellFormedQuery(query: string): boolean {
  for (let i = 0; i < query.length; i++) {
    const code = query.charCodeAt(i);
    if (code >= 0x80 || QUERY_CHARACTER[code] !== 1) return false;
    if (code === PERCENT) {
      if (hexByte(query, i + 1) === -1) return false;
      i += 2;
    }
  }
  return true;
}

/** The byte written by the two hex digits at `at`, or -1 when there are not two there. */
function hexByte(text: string, at: number): number {
  if (at + 2 > text.length) return -1;
  const high = hexDigit(text.charCodeAt(at));
  const low = hexDigit(text.charCodeAt(at + 1));
  return high === -1 || low === -1 ? -1 : high * 16 + low;
}

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function asciiTable(characters: string): Uint8Array {
  const table = new Uint8Array(128);
  for (let i = 0; i < characters.length; i++) table[characters.charCodeAt(i)] = 1;
  return table;
}
