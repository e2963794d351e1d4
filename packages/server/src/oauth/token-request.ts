import type { IncomingMessage } from 'node:http';
import { PortcullisError } from '../errors.js';
import { mediaType, readBody } from '../http/request.js';

/** A token request carries a few short parameters; anything larger is refused (413). */
const TOKEN_REQUEST_BODY_LIMIT = 4096;

export type TokenParameters = ReadonlyMap<string, string>;

/** What nearly every client sends, parsed once. */
const CANONICAL_BODY = 'grant_type=client_credentials';
const CANONICAL_PARAMETERS: TokenParameters = new Map([['grant_type', 'client_credentials']]);

/**
 * Reads the token request body as form parameters (RFC 6749 §4.4.2, Appendix B).
 *
 * Also accepted, and nothing looser: a JSON object of string values, either labelled application/json or
 * labelled application/x-www-form-urlencoded (one official MANGOPAY SDK sends that). Parameters sent more
 * than once are refused and parameters without a value count as omitted (RFC 6749 §3.2).
 */
export async function readTokenParameters(req: IncomingMessage): Promise<TokenParameters> {
  const type = mediaType(req);
  const text = (await readBody(req, TOKEN_REQUEST_BODY_LIMIT)).toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    if (text === CANONICAL_BODY) return CANONICAL_PARAMETERS;
    return text.trimStart().startsWith('{') ? parseJsonParameters(text) : parseFormParameters(text);
  }
  if (type === 'application/json') return parseJsonParameters(text);
  if (type === undefined && text === '') return new Map();
  throw new PortcullisError('invalid_request', {
    message: 'The token request must be sent as application/x-www-form-urlencoded.',
    detail: `content type ${type ?? 'missing'}`,
  });
}

function parseFormParameters(text: string): TokenParameters {
  const parameters = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
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
