import { PortcullisError } from '../errors.js';
import type { Exchange } from '../wire/exchange.js';
import { mediaType, readBody } from '../wire/request.js';

/** Admin bodies are a few fields; anything larger is not one. */
const BODY_LIMIT_BYTES = 16 * 1024;

export type JsonObject = Readonly<Record<string, unknown>>;

/** 400 naming each offending field (RFC 9457 §3.2 extension member `errors`). */
export function badFields(errors: Readonly<Record<string, string>>): PortcullisError {
  const names = Object.keys(errors).join(', ');
  return new PortcullisError('invalid_request', {
    message: `Invalid ${names}: see errors.`,
    fieldErrors: errors,
  });
}

/**
 * The JSON object of a request body (`Content-Type: application/json`, RFC 8259), or `{}` for an empty
 * one. Fields outside `allowed` are refused: a misspelt field would otherwise be ignored without a word.
 */
export async function readJsonObject(exchange: Exchange, allowed: readonly string[]): Promise<JsonObject> {
  const raw = await readBody(exchange.req, BODY_LIMIT_BYTES);
  if (raw.length === 0) return {};
  if (mediaType(exchange.req) !== 'application/json') {
    throw new PortcullisError('invalid_request', { message: 'Send the body as application/json.' });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PortcullisError('invalid_request', { message: 'The body is not valid JSON.' });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new PortcullisError('invalid_request', { message: 'The body must be a JSON object.' });
  }
  const unknown = Object.keys(body).filter((field) => !allowed.includes(field));
  if (unknown.length > 0) {
    throw badFields(Object.fromEntries(unknown.map((field) => [field, 'unknown field'])));
  }
  return body as JsonObject;
}

/** Reads fields of one body, collecting every problem; `done()` throws them together. */
export class FieldReader {
  readonly #source: JsonObject;
  readonly #errors: Record<string, string> = {};

  constructor(source: JsonObject) {
    this.#source = source;
  }

  string(field: string, options: { required?: boolean } = {}): string | undefined {
    const value = this.#source[field];
    if (value === undefined) {
      if (options.required === true) this.#errors[field] = 'required';
      return undefined;
    }
    if (typeof value === 'string') return value;
    this.#errors[field] = 'must be a string';
    return undefined;
  }

  /** An integer from `min` to `max`; null when `nullable` (a setting returned to the server's default). */
  integer(field: string, min: number, max: number): number | undefined;
  integer(field: string, min: number, max: number, nullable: true): number | null | undefined;
  integer(field: string, min: number, max: number, nullable?: true): number | null | undefined {
    const value = this.#source[field];
    if (value === undefined || (value === null && nullable === true)) return value as null | undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.#errors[field] = `must be an integer from ${min} to ${max}${nullable === true ? ', or null' : ''}`;
    return undefined;
  }

  /** A string, or null (a setting returned to the server's default). */
  nullableString(field: string): string | null | undefined {
    const value = this.#source[field];
    if (value === undefined || value === null || typeof value === 'string') return value;
    this.#errors[field] = 'must be a string or null';
    return undefined;
  }

  /** Records a problem found by the caller's own check. */
  refuse(field: string, problem: string): void {
    this.#errors[field] ??= problem;
  }

  /** Throws 400 naming every field at fault, if any. */
  done(): void {
    if (Object.keys(this.#errors).length > 0) throw badFields(this.#errors);
  }
}
