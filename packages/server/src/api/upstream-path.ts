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

/**
 * A character allowed in no segment: what is left of the path is then segment characters, `/` and `%`.
 * A single negated class is one linear scan in native code, with nothing to backtrack.
 */
const NOT_A_PATH_CHARACTER = /[^A-Za-z0-9\-._~!$&'()*+,=:@/%]/;
/** The bytes whose percent-escape is allowed in a path segment. */
const SEGMENT_ESCAPE = new Set([..." !$&'()*+,:=@~"].map((character) => character.charCodeAt(0)));
/** A character not allowed in a query: anything but printable ASCII, and `#` (0x23). */
const NOT_A_QUERY_CHARACTER = /[^\x21\x22\x24-\x7e]/;

const REFUSED_SEGMENT = 'A path segment may not be empty or start with a dot.';
const REFUSED_CHARACTER =
  "A path segment may hold letters, digits, -._~!$&'()*+,=:@ and no ';' (which servlet containers read as a path parameter).";
const REFUSED_ESCAPE =
  'A path segment may hold only the escapes %20 %21 %24 %26 %27 %28 %29 %2A %2B %2C %3A %3D %40 %7E: encoded dots, slashes, backslashes, "%", NUL and non-ASCII bytes are refused.';
const REFUSED_QUERY =
  'The query may hold printable ASCII only, no "#", and "%" only as a well-formed escape.';

/**
 * Checks a request's path and query (split at the first `?`) for forwarding under the rules above.
 * O(length): linear scans for characters, then one look at each `%`.
 */
export function checkApiTarget(path: string, query: string): ApiTarget {
  if (!path.startsWith(API_PREFIX)) return { kind: 'not_api' };
  const clientIdEnd = path.indexOf('/', API_PREFIX.length);
  if (clientIdEnd === -1) return { kind: 'not_api' };
  const refusal = pathRefusal(path) ?? (isWellFormedQuery(query) ? undefined : REFUSED_QUERY);
  if (refusal !== undefined) return { kind: 'refused', reason: refusal };
  return {
    kind: 'api',
    clientId: path.slice(API_PREFIX.length, clientIdEnd),
    resource: path.slice(clientIdEnd + 1),
  };
}

function pathRefusal(path: string): string | undefined {
  if (NOT_A_PATH_CHARACTER.test(path)) return REFUSED_CHARACTER;
  // A segment that starts with a dot follows a slash; an empty one is a double slash (a trailing slash
  // leaves an empty last segment, which is allowed). `/v2.01/` itself has neither.
  if (path.includes('/.') || path.includes('//')) return REFUSED_SEGMENT;
  for (let at = path.indexOf('%'); at !== -1; at = path.indexOf('%', at + 3)) {
    if (!SEGMENT_ESCAPE.has(hexByte(path, at + 1))) return REFUSED_ESCAPE;
  }
  return undefined;
}

function isWellFormedQuery(query: string): boolean {
  if (NOT_A_QUERY_CHARACTER.test(query)) return false;
  for (let at = query.indexOf('%'); at !== -1; at = query.indexOf('%', at + 3)) {
    if (hexByte(query, at + 1) === -1) return false;
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
