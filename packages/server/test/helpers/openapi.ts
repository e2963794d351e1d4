// Holds OpenAPI 3.1 documents to themselves and real answers to the documents: the document must validate
// against the OpenAPI 3.1 schema, and an answer's body against the schema its operation declares for its
// status and media type. Works for any OpenAPI 3.1 document (the public listener's, the admin API's).
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { TestRequest, TestResponse } from './harness.js';

/** Throws with the validator's errors when `document` is not a valid OpenAPI document. */
export async function validateOpenApiDocument(document: object): Promise<void> {
  // A copy: the validator may annotate what it is given, and documents are frozen.
  const result = await new Validator().validate(structuredClone(document) as Record<string, unknown>);
  if (!result.valid) {
    const errors = typeof result.errors === 'string' ? result.errors : JSON.stringify(result.errors, null, 2);
    throw new Error(`The OpenAPI document is not valid:\n${errors}`);
  }
}

export interface ObservedResponse {
  readonly method: string;
  /** The request's path as sent; a query string is ignored. */
  readonly path: string;
  readonly status: number;
  /** The response headers, any case; `content-type` picks the media type. */
  readonly headers: Readonly<Record<string, string | number | readonly string[] | undefined>>;
  /** The body as received (string or Buffer, parsed when the media type is JSON), or already parsed. */
  readonly body?: unknown;
}

/**
 * Throws unless the document describes this answer: an operation whose path template matches `path`
 * (a concrete path before a templated one, OpenAPI 3.1 §4.8.8), with `method` (HEAD falls back to GET,
 * RFC 9110 §9.3.2), a response for `status` (exact, then `4XX`-style, then `default`), its required
 * headers present, and a body valid against the schema of the media type `content-type` names (exact,
 * then `type/*`, then `*\/*`; compared without parameters). A response that declares no content must
 * have no body; a HEAD answer's body is not checked.
 */
export function expectResponseMatches(document: object, observed: ObservedResponse): void {
  const { method, path, status } = observed;
  const where = `${method} ${path} → ${status}`;
  const compiled = compiledDocument(document);
  const operation = findOperation(compiled, method, path, where);
  const response = findResponse(compiled, operation, status, where);
  const headers = lowerCaseHeaders(observed.headers);
  checkRequiredHeaders(compiled, response, headers, where);
  if (method.toUpperCase() === 'HEAD') return;
  const body = observed.body;
  const empty =
    body === undefined || (typeof body === 'string' || Buffer.isBuffer(body) ? body.length === 0 : false);
  const content = asRecord(response.value.content);
  if (content === undefined) {
    if (!empty) throw new Error(`${where}: the document declares no body for this answer, but one was sent`);
    return;
  }
  const contentType = headers.get('content-type');
  if (contentType === undefined) {
    if (empty && '*/*' in content) return;
    throw new Error(
      `${where}: the document declares a body (${Object.keys(content).join(', ')}), none was sent`,
    );
  }
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const key = mediaTypeKey(content, mediaType);
  if (key === undefined) {
    throw new Error(
      `${where}: media type ${mediaType} is not among the documented ${Object.keys(content).join(', ')}`,
    );
  }
  const mediaObject = asRecord(content[key]);
  if (mediaObject?.schema === undefined) return;
  const value = parsedBody(body, mediaType, where);
  const validate = compiled.validator([...response.pointer, 'content', key, 'schema']);
  if (!validate(value)) {
    throw new Error(
      `${where}: the body does not match the documented schema (${key}):\n` +
        `${JSON.stringify(validate.errors, null, 2)}\nbody: ${JSON.stringify(value)}`,
    );
  }
}

type JsonRecord = Readonly<Record<string, unknown>>;

/** A value of the document and where it is, as JSON pointer segments (after following `$ref`s). */
interface Located {
  readonly value: JsonRecord;
  readonly pointer: readonly string[];
}

interface CompiledDocument {
  readonly document: JsonRecord;
  readonly paths: readonly { readonly template: string; readonly pattern: RegExp; readonly params: number }[];
  /** Path prefixes of the document's `servers`, which its paths are relative to. */
  readonly prefixes: readonly string[];
  validator(pointer: readonly string[]): ValidateFunction;
}

const compiledDocuments = new WeakMap<object, CompiledDocument>();
let documentCount = 0;

/** Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect) with the whole document loaded, once per document. */
function compiledDocument(document: object): CompiledDocument {
  const cached = compiledDocuments.get(document);
  if (cached !== undefined) return cached;
  const root = document as JsonRecord;
  const paths = asRecord(root.paths);
  if (paths === undefined) throw new Error('The OpenAPI document has no paths');
  // Unknown keywords are OpenAPI's own (`openapi`, `paths`, `discriminator`, `example`, …): ignored.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const id = `urn:test:openapi-document:${++documentCount}`;
  ajv.addSchema({ ...root, $id: id });
  const validators = new Map<string, ValidateFunction>();
  const compiled: CompiledDocument = {
    document: root,
    paths: Object.keys(paths)
      .map((template) => ({
        template,
        pattern: templatePattern(template),
        params: (template.match(/\{[^}]*\}/g) ?? []).length,
      }))
      .sort((a, b) => a.params - b.params),
    prefixes: serverPrefixes(root),
    validator(pointer) {
      const fragment = pointer.map((segment) => encodeURIComponent(escapePointer(segment))).join('/');
      let validate = validators.get(fragment);
      if (validate === undefined) {
        // Compiled where it stands in the document, so that its `#/components/…` references resolve.
        validate = ajv.compile({ $ref: `${id}#/${fragment}` });
        validators.set(fragment, validate);
      }
      return validate;
    },
  };
  compiledDocuments.set(document, compiled);
  return compiled;
}

/** `/clients/{clientId}/keys/{keyId}` → a pattern where each parameter is one segment. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/(\{[^}]*\})/);
  const source = parts
    .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

function serverPrefixes(root: JsonRecord): string[] {
  const servers = Array.isArray(root.servers) ? (root.servers as unknown[]) : [];
  const prefixes = new Set(['']);
  for (const server of servers) {
    const url = asRecord(server)?.url;
    if (typeof url !== 'string' || url.includes('{')) continue;
    prefixes.add(new URL(url, 'https://server.invalid').pathname.replace(/\/$/, ''));
  }
  return [...prefixes];
}

function findOperation(compiled: CompiledDocument, method: string, rawPath: string, where: string): Located {
  const path = rawPath.split('?')[0] ?? '';
  for (const prefix of compiled.prefixes) {
    if (!path.startsWith(prefix)) continue;
    const relative = path.slice(prefix.length);
    const match = compiled.paths.find(({ pattern }) => pattern.test(relative));
    if (match === undefined) continue;
    const item = resolve(compiled.document, {
      value: pathItem(compiled, match.template),
      pointer: ['paths', match.template],
    });
    const lower = method.toLowerCase();
    for (const name of lower === 'head' ? ['head', 'get'] : [lower]) {
      const operation = asRecord(item.value[name]);
      if (operation !== undefined) return { value: operation, pointer: [...item.pointer, name] };
    }
    throw new Error(`${where}: the document has no ${method} operation at ${match.template}`);
  }
  throw new Error(`${where}: no path of the document matches ${path}`);
}

function pathItem(compiled: CompiledDocument, template: string): JsonRecord {
  return asRecord(asRecord(compiled.document.paths)?.[template]) ?? {};
}

function findResponse(
  compiled: CompiledDocument,
  operation: Located,
  status: number,
  where: string,
): Located {
  const responses = asRecord(operation.value.responses) ?? {};
  const range = `${String(status)[0]}XX`;
  const key =
    String(status) in responses
      ? String(status)
      : (Object.keys(responses).find((name) => name.toUpperCase() === range) ??
        ('default' in responses ? 'default' : undefined));
  if (key === undefined) {
    throw new Error(
      `${where}: the operation documents no response for status ${status} (only ${Object.keys(responses).join(', ')})`,
    );
  }
  const value = asRecord(responses[key]) ?? {};
  return resolve(compiled.document, { value, pointer: [...operation.pointer, 'responses', key] });
}

function checkRequiredHeaders(
  compiled: CompiledDocument,
  response: Located,
  headers: ReadonlyMap<string, string>,
  where: string,
): void {
  const declared = asRecord(response.value.headers) ?? {};
  for (const [name, header] of Object.entries(declared)) {
    // OpenAPI 3.1 §4.8.17.1: a `Content-Type` response header is ignored.
    if (name.toLowerCase() === 'content-type') continue;
    const resolved = resolve(compiled.document, { value: asRecord(header) ?? {}, pointer: [] });
    if (resolved.value.required === true && !headers.has(name.toLowerCase())) {
      throw new Error(`${where}: the required response header ${name} is missing`);
    }
  }
}

/** Follows local `$ref`s (`#/components/responses/…`) to the object they name. */
function resolve(document: JsonRecord, located: Located): Located {
  let current = located;
  for (let hops = 0; typeof current.value.$ref === 'string'; hops++) {
    const reference = current.value.$ref;
    if (!reference.startsWith('#/') || hops > 16) throw new Error(`Cannot follow the reference ${reference}`);
    const pointer = reference
      .slice(2)
      .split('/')
      .map((segment) => unescapePointer(decodeURIComponent(segment)));
    let value: unknown = document;
    for (const segment of pointer) value = asRecord(value)?.[segment];
    const target = asRecord(value);
    if (target === undefined) throw new Error(`The reference ${reference} names nothing in the document`);
    current = { value: target, pointer };
  }
  return current;
}

function mediaTypeKey(content: JsonRecord, mediaType: string): string | undefined {
  const keys = Object.keys(content);
  const bare = (key: string) => key.split(';')[0]?.trim().toLowerCase();
  const [type] = mediaType.split('/');
  return (
    keys.find((key) => bare(key) === mediaType) ??
    keys.find((key) => bare(key) === `${type}/*`) ??
    keys.find((key) => bare(key) === '*/*')
  );
}

function parsedBody(body: unknown, mediaType: string, where: string): unknown {
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return body;
  const text = body.toString();
  if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${where}: the body is labelled ${mediaType} but is not JSON: ${text.slice(0, 200)}`);
  }
}

function lowerCaseHeaders(headers: ObservedResponse['headers']): ReadonlyMap<string, string> {
  const lower = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    lower.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
  }
  return lower;
}

function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as JsonRecord)
    : undefined;
}

/** RFC 6901 §3. */
function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** `response`, the answer to `request`, once held to `document` (see `expectResponseMatches`). */
export function documented(document: object, request: TestRequest, response: TestResponse): TestResponse {
  expectResponseMatches(document, {
    method: request.method ?? 'GET',
    path: request.path,
    status: response.status,
    headers: response.headers,
    body: response.body,
  });
  return response;
}
