import { PortcullisError } from '../errors.js';
import { parseDisposition, parseMediaType, TOKEN_SOURCE } from './media-type.js';

/** RFC 2046 §5.1.1: 1 to 70 characters from bchars, the last one not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** A part's header line: a field name, a colon, a value of visible characters, spaces and tabs. */
const PART_HEADER = new RegExp(`^(${TOKEN_SOURCE}):[ \\t]*([\\t\\x20-\\x7e]*?)[ \\t]*$`);
/** RFC 7578 §4.4: a field's content type defaults to text/plain; a file (any other type) is no field. */
const TEXT_CHARSETS = new Set(['utf-8', 'us-ascii']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The `boundary` parameter of a multipart `Content-Type`, checked against RFC 2046 §5.1.1. */
export function multipartBoundary(parameters: ReadonlyMap<string, string>): string {
  const boundary = parameters.get('boundary');
  if (boundary !== undefined && BOUNDARY.test(boundary)) return boundary;
  throw malformed(boundary === undefined ? 'no boundary parameter' : 'boundary not allowed by RFC 2046');
}

/**
 * Reads the fields of a multipart body (RFC 2046 §5.1.1, RFC 7578), strictly: the body starts with the
 * first delimiter and ends with the close delimiter (no preamble, no transport padding, no epilogue but
 * one line break); each part has a `Content-Disposition` of one of `dispositionTypes` with a `name` and
 * nothing else, at most a `text/plain` content type in UTF-8 or US-ASCII, no file name, and a value in
 * UTF-8. Anything else is refused with 400, so that no two readers can see different fields.
 */
export function parseMultipartFields(
  body: Buffer,
  boundary: string,
  dispositionTypes: ReadonlySet<string>,
): Array<[name: string, value: string]> {
  // latin1 maps each byte to one character, so string positions are byte positions.
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const nextDelimiter = `\r\n${delimiter}`;
  if (!text.startsWith(`${delimiter}\r\n`)) throw malformed('the body does not start with the boundary line');
  const fields: Array<[string, string]> = [];
  let partStart = delimiter.length + 2;
  for (;;) {
    const partEnd = text.indexOf(nextDelimiter, partStart);
    if (partEnd === -1) throw malformed('no closing delimiter');
    fields.push(parsePart(body, text, partStart, partEnd, dispositionTypes));
    const afterDelimiter = partEnd + nextDelimiter.length;
    if (text.startsWith('--', afterDelimiter)) {
      const epilogue = text.slice(afterDelimiter + 2);
      if (epilogue !== '' && epilogue !== '\r\n') throw malformed('data after the closing delimiter');
      return fields;
    }
    // A delimiter line ends here (transport padding is refused too); anything else is the boundary's
    // text inside a part, which RFC 2046 §5.1.1 forbids a sender to write.
    if (!text.startsWith('\r\n', afterDelimiter)) throw malformed('boundary text inside a part');
    partStart = afterDelimiter + 2;
  }
}

function parsePart(
  body: Buffer,
  text: string,
  start: number,
  end: number,
  dispositionTypes: ReadonlySet<string>,
): [string, string] {
  const headersEnd = text.indexOf('\r\n\r\n', start);
  if (headersEnd === -1 || headersEnd + 4 > end) {
    throw malformed('a part without a blank line after its headers');
  }
  const headers = new Map<string, string>();
  for (const line of text.slice(start, headersEnd).split('\r\n')) {
    const match = PART_HEADER.exec(line);
    if (match === null) throw malformed('a part header that is not a header line');
    const name = (match[1] as string).toLowerCase();
    if (headers.has(name)) throw malformed('a part header sent twice');
    headers.set(name, match[2] as string);
  }
  const name = fieldName(headers, dispositionTypes);
  requirePlainText(headers);
  try {
    return [name, utf8.decode(body.subarray(headersEnd + 4, end))];
  } catch {
    throw malformed('a part value that is not UTF-8');
  }
}

/** RFC 7578 §4.2: the field's name, from a Content-Disposition that carries nothing else. */
function fieldName(headers: ReadonlyMap<string, string>, dispositionTypes: ReadonlySet<string>): string {
  const value = headers.get('content-disposition');
  if (value === undefined) throw malformed('a part without Content-Disposition');
  const disposition = parseDisposition(value);
  if (disposition === undefined || !dispositionTypes.has(disposition.head)) {
    throw malformed('a part whose Content-Disposition is not a form field');
  }
  const name = disposition.parameters.get('name');
  if (name === undefined || name === '' || disposition.parameters.size !== 1) {
    throw malformed('a part whose Content-Disposition has no name, or more than a name');
  }
  return name;
}

/** RFC 7578 §4.4 and §4.7: a field is text; other part headers (Content-Transfer-Encoding, …) are refused. */
function requirePlainText(headers: ReadonlyMap<string, string>): void {
  for (const [name, value] of headers) {
    if (name === 'content-disposition') continue;
    if (name !== 'content-type') {
      throw malformed('a part header other than Content-Disposition and Content-Type');
    }
    const type = parseMediaType(value);
    const charset = type?.parameters.get('charset')?.toLowerCase();
    const onlyCharset = type !== undefined && type.parameters.size === (charset === undefined ? 0 : 1);
    if (
      type?.head !== 'text/plain' ||
      !onlyCharset ||
      (charset !== undefined && !TEXT_CHARSETS.has(charset))
    ) {
      throw malformed('a part that is not UTF-8 text');
    }
  }
}

function malformed(detail: string): PortcullisError {
  return new PortcullisError('invalid_request', {
    message: 'The multipart request body is malformed.',
    detail: `multipart: ${detail}`,
  });
}
