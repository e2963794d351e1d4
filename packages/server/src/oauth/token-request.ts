import type { IncomingMessage } from 'node:http';
import { PortcullisError } from '../errors.js';
import { parseMediaType } from '../wire/media-type.js';
import { multipartBoundary, parseMultipartFields } from '../wire/multipart-form.js';
import { readBody, singleHeader } from '../wire/request.js';

/** A token request carries a few short parameters; anything larger is refused (413). */
const TOKEN_REQUEST_BODY_LIMIT = 4096;

export type TokenParameters = ReadonlyMap<string, string>;

const FORM = 'application/x-www-form-urlencoded';

/** What nearly every client sends, recognised before any parsing. */
const CANONICAL_BODY = Buffer.from('grant_type=client_credentials');
const CANONICAL_PARAMETERS: TokenParameters = new Map([['grant_type', 'client_credentials']]);

/** RFC 7578 §4.2: each part of a multipart/form-data body is a `form-data` part. */
const FORM_DATA_PARTS: ReadonlySet<string> = new Set(['form-data']);
/**
 * MANGOPAY's PHP SDK hands libcurl the parameters as an array and sets its own form Content-Type, so
 * libcurl sends a multipart body under that label with a `boundary` parameter added. libcurl 7.56 and
 * later write `attachment` parts under a label other than multipart/form-data; earlier ones `form-data`.
 */
const MISLABELLED_MULTIPART_PARTS: ReadonlySet<string> = new Set(['attachment', 'form-data']);

/**
 * Reads the token request body as form parameters (RFC 6749 §4.4.2, Appendix B).
 *
 * Also accepted, and nothing looser, as MANGOPAY's own SDKs send them: a JSON object of string values,
 * labelled application/json or application/x-www-form-urlencoded (one of them sends that); a multipart
 * body (RFC 7578), labelled multipart/form-data or application/x-www-form-urlencoded with a `boundary`
 * parameter (the PHP SDK through libcurl). Parameters sent more than once are refused and parameters
 * without a value count as omitted (RFC 6749 §3.2).
 */
export async function readTokenParameters(req: IncomingMessage): Promise<TokenParameters> {
  const contentType = singleHeader(req, 'content-type');
  const body = await readBody(req, TOKEN_REQUEST_BODY_LIMIT);
  if (contentType === FORM && body.equals(CANONICAL_BODY)) return CANONICAL_PARAMETERS;
  if (contentType === undefined) {
    if (body.length === 0) return new Map();
    throw notAForm('missing');
  }
  const type = parseMediaType(contentType);
  if (type === undefined) {
    throw new PortcullisError('invalid_request', { message: 'The Content-Type header is malformed.' });
  }
  switch (type.head) {
    case FORM: {
      // A boundary means something only to multipart bodies (RFC 2046 §5.1.1): its sender built one.
      if (type.parameters.has('boundary')) {
        return multipartParameters(body, type.parameters, MISLABELLED_MULTIPART_PARTS);
      }
      const text = body.toString('utf8');
      return text.trimStart().startsWith('{') ? parseJsonParameters(text) : parseFormParameters(text);
    }
    case 'multipart/form-data':
      return multipartParameters(body, type.parameters, FORM_DATA_PARTS);
    case 'application/json':
      return parseJsonParameters(body.toString('utf8'));
    default:
      throw notAForm(type.head);
  }
}

function notAForm(type: string): PortcullisError {
  return new PortcullisError('invalid_request', {
    message: 'The token request must be sent as application/x-www-form-urlencoded.',
    detail: `content type ${type}`,
  });
}

function parseFormParameters(text: string): TokenParameters {
  return collectParameters(new URLSearchParams(text));
}

function multipartParameters(
  body: Buffer,
  contentTypeParameters: ReadonlyMap<string, string>,
  partTypes: ReadonlySet<string>,
): TokenParameters {
  return collectParameters(parseMultipartFields(body, multipartBoundary(contentTypeParameters), partTypes));
}

function collectParameters(fields: Iterable<[string, string]>): TokenParameters {
  const parameters = new Map<string, string>();
  for (const [name, value] of fields) {
    if (parameters.has(name)) throw repeated(name);
    parameters.set(name, value);
  }
  return withoutEmptyValues(parameters);
}

function parseJsonParameters(text: string): TokenParameters {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PortcullisError('invalid_request', { message: 'The request body is not valid JSON.' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PortcullisError('invalid_request', { message: 'The request body must be a JSON object.' });
  }
  const parameters = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new PortcullisError('invalid_request', {
        message: `The parameter ${safeName(name)} must be a string.`,
      });
    }
    parameters.set(name, value);
  }
  return withoutEmptyValues(parameters);
}

function withoutEmptyValues(parameters: Map<string, string>): TokenParameters {
  for (const [name, value] of parameters) if (value === '') parameters.delete(name);
  return parameters;
}

function repeated(name: string): PortcullisError {
  return new PortcullisError('invalid_request', { message: `The parameter ${safeName(name)} is repeated.` });
}

/** Echo a parameter name only when it is short and plain, so an error never carries arbitrary input. */
function safeName(name: string): string {
  return /^[a-z_]{1,32}$/.test(name) ? name : '(unnamed)';
}
