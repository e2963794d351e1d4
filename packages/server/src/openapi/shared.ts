// What the public and the admin listeners' OpenAPI 3.1 documents share: the types of the objects they are
// written with, and the parts both listeners serve alike (the health checks).

/** A JSON value, for `const`, `enum` and `default` (JSON Schema 2020-12 §6.1). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [name: string]: JsonValue };

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'array' | 'object';

/**
 * The JSON Schema 2020-12 keywords these documents use (OpenAPI 3.1 §4.8.24: a Schema Object is a JSON
 * Schema). A keyword not listed here is a type error: add it when a schema needs it.
 */
export interface SchemaObject {
  readonly $ref?: string;
  readonly title?: string;
  readonly description?: string;
  readonly type?: JsonType | readonly JsonType[];
  readonly const?: JsonValue;
  readonly enum?: readonly JsonValue[];
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: SchemaObject;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
  readonly properties?: Readonly<Record<string, SchemaObject>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | SchemaObject;
  readonly oneOf?: readonly SchemaObject[];
  readonly anyOf?: readonly SchemaObject[];
  readonly allOf?: readonly SchemaObject[];
  readonly examples?: readonly JsonValue[];
}

/** A Reference Object (OpenAPI 3.1 §4.8.23), to a member of `components`. */
export interface Reference {
  readonly $ref: string;
  readonly description?: string;
}

export interface HeaderObject {
  readonly description?: string;
  readonly required?: boolean;
  readonly schema: SchemaObject;
}

export interface MediaTypeObject {
  readonly schema?: SchemaObject;
  readonly example?: JsonValue;
}

export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject | Reference>>;
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
}

export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly description?: string;
  readonly required?: boolean;
  readonly schema: SchemaObject;
}

export interface RequestBodyObject {
  readonly description?: string;
  readonly required?: boolean;
  readonly content: Readonly<Record<string, MediaTypeObject>>;
}

/** Each operation's requirements: any one of the listed objects satisfies it (OpenAPI 3.1 §4.8.30). */
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>;

export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly parameters?: readonly (ParameterObject | Reference)[];
  readonly requestBody?: RequestBodyObject | Reference;
  readonly responses: Readonly<Record<string, ResponseObject | Reference>>;
  readonly security?: readonly SecurityRequirement[];
}

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'options' | 'head' | 'patch';

export type PathItemObject = {
  readonly summary?: string;
  readonly description?: string;
  readonly parameters?: readonly (ParameterObject | Reference)[];
} & { readonly [method in HttpMethod]?: OperationObject };

export type SecuritySchemeObject =
  | { readonly type: 'http'; readonly scheme: string; readonly description?: string }
  | {
      readonly type: 'apiKey';
      readonly in: 'cookie' | 'header' | 'query';
      readonly name: string;
      readonly description?: string;
    }
  | {
      readonly type: 'oauth2';
      readonly description?: string;
      readonly flows: {
        readonly clientCredentials: {
          readonly tokenUrl: string;
          readonly scopes: Readonly<Record<string, string>>;
        };
      };
    };

export interface ComponentsObject {
  readonly schemas?: Readonly<Record<string, SchemaObject>>;
  readonly responses?: Readonly<Record<string, ResponseObject>>;
  readonly parameters?: Readonly<Record<string, ParameterObject>>;
  readonly requestBodies?: Readonly<Record<string, RequestBodyObject>>;
  readonly headers?: Readonly<Record<string, HeaderObject>>;
  readonly securitySchemes?: Readonly<Record<string, SecuritySchemeObject>>;
}

/** The OpenAPI 3.1 Object (§4.8.1), as far as these documents use it. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly summary?: string;
    readonly description?: string;
    readonly license?: { readonly name: string; readonly identifier: string };
  };
  readonly jsonSchemaDialect?: string;
  readonly servers?: readonly { readonly url: string; readonly description?: string }[];
  readonly tags?: readonly { readonly name: string; readonly description?: string }[];
  readonly paths: Readonly<Record<string, PathItemObject>>;
  readonly components?: ComponentsObject;
  readonly security?: readonly SecurityRequirement[];
}

/** Freezes `value` and everything in it: a served document must not change after it is serialized. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** `{ $ref: '#/components/<kind>/<name>' }`. */
export function ref(kind: keyof ComponentsObject, name: string): Reference {
  return { $ref: `#/components/${kind}/${name}` };
}

/** A JSON body of the schema at `#/components/schemas/<name>`. */
export function jsonContent(schema: string): Readonly<Record<string, MediaTypeObject>> {
  return { 'application/json': { schema: ref('schemas', schema) } };
}

// ─── Parts both listeners serve ──────────────────────────────────────────────────────────────────────

/**
 * Schemas both documents hold under `components.schemas`, with these names: the health checks' answers
 * (http/health.ts).
 */
export const healthSchemas = {
  Liveness: {
    description: 'The process serves requests.',
    type: 'object',
    required: ['status'],
    additionalProperties: false,
    properties: { status: { const: 'ok' } },
  },
  Ready: {
    description: 'The store and the cache answer, and the change feed was read within the revocation bound.',
    type: 'object',
    required: ['status'],
    additionalProperties: false,
    properties: { status: { const: 'ready' } },
  },
  Unready: {
    description: 'The parts that are not ready; why is logged, never sent.',
    type: 'object',
    required: ['status', 'failing'],
    additionalProperties: false,
    properties: {
      status: { const: 'unready' },
      failing: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { enum: ['store', 'cache', 'change_feed'] },
      },
    },
  },
} as const satisfies Record<string, SchemaObject>;

/** Headers both documents hold under `components.headers`. */
export const sharedHeaders = {
  NoStore: {
    description: 'The answer must not be cached (RFC 9111 §5.2.2.5).',
    required: true,
    schema: { const: 'no-store' },
  },
  Allow: {
    description: 'The methods the resource takes (RFC 9110 §10.2.1).',
    required: true,
    schema: { type: 'string' },
  },
  RequestId: {
    description: "The request's id, as in the error body's `Id` and the server's log.",
    required: true,
    schema: { type: 'string', format: 'uuid' },
  },
} as const satisfies Record<string, HeaderObject>;

function probe(
  operationId: string,
  summary: string,
  description: string,
  responses: Readonly<Record<string, ResponseObject>>,
  errorContent: Readonly<Record<string, MediaTypeObject>>,
): PathItemObject {
  const operation = (id: string): OperationObject => ({
    operationId: id,
    summary,
    description,
    tags: ['health'],
    security: [],
    responses: {
      ...responses,
      '400': {
        description: 'A query string was sent (`invalid_request`): the probes take no URL parameters.',
        headers: { 'Cache-Control': ref('headers', 'NoStore'), 'X-Request-Id': ref('headers', 'RequestId') },
        content: errorContent,
      },
    },
  });
  return {
    description: 'Another method gets 405 `method_not_allowed` with `Allow: GET, HEAD`.',
    get: operation(operationId),
    head: operation(`${operationId}Head`),
  };
}

/**
 * `/healthz` and `/readyz` (http/health.ts), for both documents' `paths`, with the listener's error body
 * (MANGOPAY's shape on the public listener, problem details on the admin one). They need `healthSchemas`
 * and `sharedHeaders` under the same names in the document's `components`.
 */
export const healthPaths = (
  errorContent: Readonly<Record<string, MediaTypeObject>>,
): Readonly<Record<'/healthz' | '/readyz', PathItemObject>> => ({
  '/healthz': probe(
    'getLiveness',
    'Liveness',
    'Answers 200 while the process serves requests at all. No credentials; answered to browsers too. HEAD answers as GET without the body.',
    {
      '200': {
        description: 'The process serves requests.',
        headers: { 'Cache-Control': ref('headers', 'NoStore') },
        content: jsonContent('Liveness'),
      },
    },
    errorContent,
  ),
  '/readyz': probe(
    'getReadiness',
    'Readiness',
    'Answers 200 when the store and the cache (with `--cache`) answer and the change feed was read within the revocation bound, otherwise 503 naming the parts that are not ready. No credentials; answered to browsers too.',
    {
      '200': {
        description: 'Ready.',
        headers: { 'Cache-Control': ref('headers', 'NoStore') },
        content: jsonContent('Ready'),
      },
      '503': {
        description: 'Not ready: `failing` names the parts.',
        headers: { 'Cache-Control': ref('headers', 'NoStore') },
        content: jsonContent('Unready'),
      },
    },
    errorContent,
  ),
});
