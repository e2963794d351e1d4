/**
 * Strict readers of header values made of a head and `;`-separated parameters: `Content-Type`
 * (RFC 9110 §8.3.1) and a multipart part's `Content-Disposition` (RFC 7578 §4.2, RFC 6266 §4.1).
 */

export interface HeaderWithParameters {
  /** The value before the first `;`, lower-cased. */
  readonly head: string;
  /** Parameter names lower-cased (RFC 9110 §5.6.6: they are case-insensitive), values as sent. */
  readonly parameters: ReadonlyMap<string, string>;
}

/** RFC 9110 §5.6.2 token: one or more tchar. As regular-expression source, for the patterns here. */
export const TOKEN_SOURCE = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const TOKEN = new RegExp(`^${TOKEN_SOURCE}$`);
const MEDIA_TYPE = new RegExp(`^${TOKEN_SOURCE}/${TOKEN_SOURCE}$`);
/**
 * One parameter after its `;`: OWS name "=" (token / quoted-string) OWS. A quoted-string here holds
 * qdtext only: a quoted-pair (`\x`) is refused, since no parameter read here needs one and readers
 * disagree on them (RFC 9110 §5.6.4 unescapes, the HTML form encoding used by RFC 7578 does not).
 */
const PARAMETER = new RegExp(`^[ \\t]*(${TOKEN_SOURCE})=(?:(${TOKEN_SOURCE})|"([\\t !#-[\\]-~]*)")[ \\t]*$`);

/**
 * A `Content-Type` value: its media type and parameters, or undefined when it does not follow
 * RFC 9110 §8.3.1 (a parameter without `=`, an unterminated quote, a parameter named twice).
 */
export function parseMediaType(value: string): HeaderWithParameters | undefined {
  const parsed = parseHeaderWithParameters(value);
  return parsed !== undefined && MEDIA_TYPE.test(parsed.head) ? parsed : undefined;
}

/** A `Content-Disposition` value (RFC 6266 §4.1): a disposition type and its parameters, or undefined. */
export function parseDisposition(value: string): HeaderWithParameters | undefined {
  const parsed = parseHeaderWithParameters(value);
  return parsed !== undefined && TOKEN.test(parsed.head) ? parsed : undefined;
}

function parseHeaderWithParameters(value: string): HeaderWithParameters | undefined {
  const pieces = splitOutsideQuotes(value);
  if (pieces === undefined) return undefined;
  const head = (pieces[0] as string).trim().toLowerCase();
  const parameters = new Map<string, string>();
  for (const piece of pieces.slice(1)) {
    // RFC 9110 §5.6.6 allows an empty parameter between two semicolons.
    if (piece.trim() === '') continue;
    const match = PARAMETER.exec(piece);
    if (match === null) return undefined;
    const name = (match[1] as string).toLowerCase();
    if (parameters.has(name)) return undefined;
    parameters.set(name, match[2] ?? (match[3] as string));
  }
  return { head, parameters };
}

/** The value cut at each `;` that is not inside a quoted-string; undefined when a quote is left open. */
function splitOutsideQuotes(value: string): string[] | undefined {
  const pieces: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === '"') quoted = !quoted;
    else if (char === ';' && !quoted) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  pieces.push(value.slice(start));
  return pieces;
}
