// The OpenAPI 3.1 document of the admin listener, served there at GET /admin/v1/openapi.json. It describes
// what admin-api/* and http/health.ts answer; test/admin-api.test.ts holds every admin answer it receives
// to this document, so a handler that changes its answers without it fails there.
import { MAX_PAGE_SIZE } from '../admin-api/paging.js';
import { environments } from '../domain/environment.js';
import { adminRoles, auditEventTypes } from '../domain/records.js';
import { keyScopes } from '../domain/scope.js';
import { errorCatalogue } from '../errors.js';
import {
  deepFreeze,
  type HeaderObject,
  healthPaths,
  healthSchemas,
  jsonContent,
  type OpenApiDocument,
  type OperationObject,
  type ParameterObject,
  type PathItemObject,
  type ResponseObject,
  ref,
  type SchemaObject,
  sharedHeaders,
} from './shared.js';

/** Where the admin listener serves this document. */
export const ADMIN_DOCUMENT_PATH = '/admin/v1/openapi.json';

const V1 = '/admin/v1';

const NAME: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: '1 to 64 of `A-Za-z0-9_-` (the ClientId rules).',
};
const LABEL: SchemaObject = { type: 'string', pattern: '^[\\x20-\\x7e]{1,64}$' };
const TIME: SchemaObject = { type: 'string', format: 'date-time' };
const TIME_OR_NULL: SchemaObject = { type: ['string', 'null'], format: 'date-time' };
const CURSOR: SchemaObject = { type: ['string', 'null'], pattern: '^[A-Za-z0-9_-]{1,200}$' };

/** A `{ data, next_cursor }` page (admin-api/paging.ts). */
const page = (item: string, description: string): SchemaObject => ({
  description,
  type: 'object',
  required: ['data', 'next_cursor'],
  additionalProperties: false,
  properties: {
    data: { type: 'array', items: ref('schemas', item) },
    next_cursor: { ...CURSOR, description: 'Pass as `cursor` for the next page; null on the last.' },
  },
});

/** A `{ data }` list, not paged: these lists are short. */
const list = (item: string): SchemaObject => ({
  type: 'object',
  required: ['data'],
  additionalProperties: false,
  properties: { data: { type: 'array', items: ref('schemas', item) } },
});

/** `base` with one more required member: the secret shown once in a 201 answer. */
const withSecret = (base: SchemaObject, member: string, description: string): SchemaObject => ({
  ...base,
  required: [...(base.required ?? []), member],
  properties: { ...base.properties, [member]: { type: 'string', description } },
});

const KEY_FIELDS = [
  'keyId',
  'alias',
  'scope',
  'status',
  'exposed',
  'environment',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'lastUsedAt',
  'exposedAt',
  'replacedBy',
];

const KEY: SchemaObject = {
  description: 'An API key: its id and status, never the key.',
  type: 'object',
  required: KEY_FIELDS,
  additionalProperties: false,
  properties: {
    keyId: { type: 'string' },
    alias: { type: ['string', 'null'] },
    scope: { enum: [...keyScopes] },
    status: { enum: ['active', 'revoked', 'expired'] },
    exposed: { type: 'boolean', description: 'Reported as exposed (found in public).' },
    environment: { enum: [...environments] },
    createdAt: TIME,
    expiresAt: TIME_OR_NULL,
    revokedAt: TIME_OR_NULL,
    lastUsedAt: TIME_OR_NULL,
    exposedAt: TIME_OR_NULL,
    replacedBy: { type: ['string', 'null'], description: 'The key that replaced it by rotation.' },
  },
};

const INTROSPECTOR: SchemaObject = {
  description: 'An introspection credential (RFC 7662 §2.1): its name is the Basic user name.',
  type: 'object',
  required: ['name', 'status', 'createdAt', 'revokedAt'],
  additionalProperties: false,
  properties: {
    name: NAME,
    status: { enum: ['active', 'revoked'] },
    createdAt: TIME,
    revokedAt: TIME_OR_NULL,
  },
};

const ADMIN: SchemaObject = {
  description: 'An admin credential: its token is never shown again.',
  type: 'object',
  required: ['name', 'role', 'status', 'createdAt', 'revokedAt'],
  additionalProperties: false,
  properties: {
    name: NAME,
    role: { enum: [...adminRoles] },
    status: { enum: ['active', 'revoked'] },
    createdAt: TIME,
    revokedAt: TIME_OR_NULL,
  },
};

const schemas = {
  ...healthSchemas,
  SessionStart: {
    type: 'object',
    required: ['token'],
    additionalProperties: false,
    properties: { token: { type: 'string', description: 'An admin token (`pca_…`).' } },
  },
  Session: {
    description: 'The session in force; its CSRF token goes in `X-CSRF-Token` on every change.',
    type: 'object',
    required: ['name', 'role', 'csrfToken', 'expiresAt'],
    additionalProperties: false,
    properties: {
      name: NAME,
      role: { enum: [...adminRoles] },
      csrfToken: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
      expiresAt: TIME,
    },
  },
  Problem: {
    description:
      'RFC 9457 problem details. `type` is `urn:portcullis:problem:` and the stable `code`; `title` the catalogue message for the code; `detail` this occurrence, when it says more; `requestId` also in `X-Request-Id`; `errors` names each offending field (body member or URL parameter) with what is wrong with it.',
    type: 'object',
    required: ['type', 'title', 'status', 'code', 'requestId'],
    additionalProperties: false,
    properties: {
      type: { type: 'string', pattern: '^urn:portcullis:problem:[a-z_]+$' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: { type: 'string', enum: Object.keys(errorCatalogue) },
      requestId: { type: 'string', format: 'uuid' },
      errors: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
  Client: {
    type: 'object',
    required: ['clientId', 'name', 'status', 'tokenTtl', 'rateLimits', 'createdAt', 'updatedAt'],
    additionalProperties: false,
    properties: {
      clientId: NAME,
      name: { type: 'string' },
      status: { enum: ['active', 'disabled'] },
      tokenTtl: {
        type: ['integer', 'null'],
        minimum: 1,
        maximum: 86_400,
        description: 'Access-token lifetime in seconds; null: the server default.',
      },
      rateLimits: {
        type: ['string', 'null'],
        description: 'As `--rate-limits` (`100/1s,5000/1h`); null: the server default.',
      },
      createdAt: TIME,
      updatedAt: TIME,
    },
  },
  ClientPage: page('Client', 'Clients by ClientId.'),
  ClientCreate: {
    type: 'object',
    required: ['clientId'],
    additionalProperties: false,
    properties: {
      clientId: NAME,
      name: LABEL,
      tokenTtl: { type: ['integer', 'null'], minimum: 1, maximum: 86_400 },
      rateLimits: { type: ['string', 'null'] },
    },
  },
  ClientUpdate: {
    type: 'object',
    additionalProperties: false,
    properties: {
      name: LABEL,
      tokenTtl: { type: ['integer', 'null'], minimum: 1, maximum: 86_400 },
      rateLimits: { type: ['string', 'null'] },
    },
  },
  CreatedClient: {
    description: 'The client and its first key, whose `apiKey` is shown this once.',
    type: 'object',
    required: ['client', 'key'],
    additionalProperties: false,
    properties: { client: ref('schemas', 'Client'), key: ref('schemas', 'NewKey') },
  },
  Key: KEY,
  NewKey: withSecret(KEY, 'apiKey', 'The API key, shown this once: it is never shown or logged again.'),
  KeyList: list('Key'),
  KeyCreate: {
    type: 'object',
    additionalProperties: false,
    properties: {
      alias: LABEL,
      scopes: {
        enum: ['read', 'write', 'read write', 'write read'],
        description:
          'Default `write`. `read`: GET and HEAD only; `write`: every method. Also as OAuth writes it (RFC 6749 §3.3): `read write` is `write`.',
      },
      expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
    },
  },
  KeyRotate: {
    type: 'object',
    additionalProperties: false,
    properties: {
      graceHours: {
        type: 'integer',
        minimum: 0,
        maximum: 8760,
        description: 'How long the old key keeps working, default 24; 0 ends it at once.',
      },
    },
  },
  Rotation: {
    type: 'object',
    required: ['key', 'old'],
    additionalProperties: false,
    properties: {
      key: ref('schemas', 'NewKey'),
      old: { ...ref('schemas', 'Key'), description: 'The replaced key: `expiresAt` is its grace end.' },
    },
  },
  Introspector: INTROSPECTOR,
  NewIntrospector: withSecret(INTROSPECTOR, 'apiKey', 'Its API key, shown this once.'),
  IntrospectorList: list('Introspector'),
  IntrospectorCreate: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: NAME },
  },
  Admin: ADMIN,
  NewAdmin: withSecret(ADMIN, 'token', 'The admin token, shown this once.'),
  AdminList: list('Admin'),
  AdminCreate: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: NAME,
      role: { enum: [...adminRoles], description: 'Default `operator`, as the CLI.' },
    },
  },
  AuditEntry: {
    description:
      'One entry of the audit trail; never a key, a token or an Authorization value (keys by id, tokens by fingerprint).',
    type: 'object',
    required: ['id', 'at', 'type', 'clientId', 'keyId', 'source', 'count', 'detail', 'actor'],
    additionalProperties: false,
    properties: {
      id: { type: 'integer', minimum: 1 },
      at: { ...TIME, description: 'For counted events (floods), the start of their minute.' },
      type: { enum: [...auditEventTypes] },
      clientId: { type: ['string', 'null'] },
      keyId: { type: ['string', 'null'] },
      source: { type: ['string', 'null'], description: 'The source address, for events a request caused.' },
      count: { type: 'integer', minimum: 1 },
      detail: { type: ['object', 'null'] },
      actor: {
        type: ['string', 'null'],
        description:
          "The admin's name for a change made through this API, `cli` for the CLI's, null for what the server records itself.",
      },
    },
  },
  AuditPage: page('AuditEntry', 'Entries in the order they were written.'),
  StatsPoint: {
    description: 'The counts of one interval, summed over every worker process.',
    type: 'object',
    required: ['at', 'requests', 'tokens', 'authenticationFailures', 'limitRefusals'],
    additionalProperties: false,
    properties: {
      at: { ...TIME, description: 'When the interval began.' },
      requests: { type: 'integer', minimum: 0, description: 'Requests answered on the public listener.' },
      tokens: { type: 'integer', minimum: 0, description: 'Access tokens issued.' },
      authenticationFailures: { type: 'integer', minimum: 0, description: 'Credentials refused.' },
      limitRefusals: { type: 'integer', minimum: 0, description: 'Requests refused by a limit (429).' },
    },
  },
  Stats: {
    description:
      'The last hour of traffic, from the counters of `/metrics`: counts per interval (not totals), oldest first, from the oldest interval any process has seen; the last is the current interval, counted up to the request.',
    type: 'object',
    required: ['intervalSeconds', 'points', 'workers', 'store', 'cache'],
    additionalProperties: false,
    properties: {
      intervalSeconds: { type: 'number', minimum: 0, description: 'The length of an interval: 10.' },
      points: { type: 'array', maxItems: 360, items: ref('schemas', 'StatsPoint') },
      workers: {
        type: 'integer',
        minimum: 0,
        description:
          'The server processes whose counts these are (with `--workers N`, those that answered within a second).',
      },
      store: { enum: ['up', 'down'], description: 'Whether the store answers, as `/readyz` sees it.' },
      cache: { enum: ['up', 'down', 'none'], description: '`none` without `--cache`.' },
    },
  },
} as const satisfies Record<string, SchemaObject>;

const headers = {
  ...sharedHeaders,
  Challenge: {
    description:
      'RFC 6750 §3: `Bearer realm="portcullis-admin"`, with `error="invalid_token"` for a bad token.',
    required: true,
    schema: { type: 'string', pattern: '^Bearer realm="portcullis-admin"' },
  },
  RetryAfter: {
    description: 'Seconds to wait (RFC 9110 §10.2.3).',
    required: true,
    schema: { type: 'string', pattern: '^\\d+$' },
  },
} as const satisfies Record<string, HeaderObject>;

const problemHeaders = {
  'Cache-Control': ref('headers', 'NoStore'),
  'X-Request-Id': ref('headers', 'RequestId'),
};

const problem = (
  description: string,
  extra: Record<string, ReturnType<typeof ref>> = {},
): ResponseObject => ({
  description,
  headers: { ...problemHeaders, ...extra },
  content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } },
});

const responses = {
  BadRequest: problem(
    '`invalid_request`: a bad body or URL parameter; `errors` names each offending field. Also an unknown URL parameter, a body that is not a JSON object or not `application/json`.',
  ),
  Unauthorized: problem(
    '`authentication_required` without credentials, `invalid_token` for a token that is not an active admin token. Answered before the path is looked at.',
    { 'WWW-Authenticate': ref('headers', 'Challenge') },
  ),
  Forbidden: problem('`forbidden`: a viewer asked for what needs an operator.'),
  NotFound: problem('`not_found`: no such resource (or path).'),
  MethodNotAllowed: problem('`method_not_allowed`: `Allow` lists the methods the path takes.', {
    Allow: ref('headers', 'Allow'),
  }),
  Conflict: problem('`conflict`: the change conflicts with what exists (a taken name, a revoked key).'),
  PayloadTooLarge: problem('`payload_too_large`: bodies are at most 16 KiB.'),
  TooManyRequests: problem(
    '`rate_limit`: too many failed authentications from this address; wait for `Retry-After`.',
    { 'Retry-After': ref('headers', 'RetryAfter') },
  ),
  Failure: problem('Any other failure (`server_error`, `store_unavailable`…), as problem details.'),
} as const satisfies Record<string, ResponseObject>;

const ok = (status: string, description: string, schema: string): Record<string, ResponseObject> => ({
  [status]: {
    description,
    headers: { 'Cache-Control': ref('headers', 'NoStore') },
    content: jsonContent(schema),
  },
});

/** The errors every admin operation may answer; `withBody` adds those of a request body. */
function errors(options: {
  readonly withBody?: boolean;
  readonly notFound?: boolean;
  readonly conflict?: boolean;
}) {
  return {
    '400': ref('responses', 'BadRequest'),
    '401': ref('responses', 'Unauthorized'),
    '403': ref('responses', 'Forbidden'),
    ...(options.notFound === true && { '404': ref('responses', 'NotFound') }),
    '405': ref('responses', 'MethodNotAllowed'),
    ...(options.conflict === true && { '409': ref('responses', 'Conflict') }),
    ...(options.withBody === true && { '413': ref('responses', 'PayloadTooLarge') }),
    '429': ref('responses', 'TooManyRequests'),
    default: ref('responses', 'Failure'),
  };
}

const body = (schema: string, required: boolean) => ({
  required,
  content: jsonContent(schema),
});

const pathParameter = (name: string, description: string): ParameterObject => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: NAME,
});

const query = (name: string, description: string, schema: SchemaObject): ParameterObject => ({
  name,
  in: 'query',
  description,
  schema,
});

const parameters = {
  ClientId: pathParameter('clientId', 'The ClientId.'),
  KeyId: { ...pathParameter('keyId', 'The key id.'), schema: { type: 'string' } },
  Limit: query('limit', 'Items per page (default 50).', {
    type: 'integer',
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
  }),
  Cursor: query('cursor', 'The `next_cursor` of the previous page, as given.', {
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{1,200}$',
  }),
} as const satisfies Record<string, ParameterObject>;

interface Operation {
  readonly id: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly role: 'viewer' | 'operator';
  readonly parameters?: OperationObject['parameters'];
  readonly requestBody?: OperationObject['requestBody'];
  readonly responses: OperationObject['responses'];
}

function operation(spec: Operation): OperationObject {
  const who = spec.role === 'viewer' ? 'Viewers and operators.' : 'Operators only (a viewer gets 403).';
  return {
    operationId: spec.id,
    summary: spec.summary,
    description: spec.description === undefined ? who : `${spec.description}\n\n${who}`,
    tags: [spec.tag],
    ...(spec.parameters !== undefined && { parameters: spec.parameters }),
    ...(spec.requestBody !== undefined && { requestBody: spec.requestBody }),
    responses: spec.responses,
  };
}

const deleted: ResponseObject = {
  description: 'Deleted.',
  headers: { 'Cache-Control': ref('headers', 'NoStore') },
};

const paths = {
  [`${V1}/clients`]: {
    get: operation({
      id: 'listClients',
      summary: 'List clients',
      tag: 'clients',
      role: 'viewer',
      parameters: [
        parameters.Limit,
        parameters.Cursor,
        query('q', 'Only clients whose ClientId or name starts so.', { type: 'string' }),
      ],
      responses: { ...ok('200', 'A page of clients.', 'ClientPage'), ...errors({}) },
    }),
    post: operation({
      id: 'createClient',
      summary: 'Create a client and its first key',
      tag: 'clients',
      role: 'operator',
      requestBody: body('ClientCreate', true),
      responses: {
        ...ok('201', 'Created; the key is shown this once.', 'CreatedClient'),
        ...errors({ withBody: true, conflict: true }),
      },
    }),
  },
  [`${V1}/clients/{clientId}`]: {
    parameters: [parameters.ClientId],
    get: operation({
      id: 'getClient',
      summary: 'Read a client',
      tag: 'clients',
      role: 'viewer',
      responses: { ...ok('200', 'The client.', 'Client'), ...errors({ notFound: true }) },
    }),
    patch: operation({
      id: 'updateClient',
      summary: "Change a client's settings",
      description: 'Members left out are unchanged; `null` returns a setting to the server default.',
      tag: 'clients',
      role: 'operator',
      requestBody: body('ClientUpdate', true),
      responses: { ...ok('200', 'The client.', 'Client'), ...errors({ withBody: true, notFound: true }) },
    }),
    delete: operation({
      id: 'deleteClient',
      summary: 'Delete a client',
      description:
        'It, its keys and their tokens stop working at once; its ClientId is never reused; its audit entries stay.',
      tag: 'clients',
      role: 'operator',
      responses: { '204': deleted, ...errors({ notFound: true }) },
    }),
  },
  [`${V1}/clients/{clientId}/disable`]: statusChange('disable', 'disableClient', 'Disable a client'),
  [`${V1}/clients/{clientId}/enable`]: statusChange('enable', 'enableClient', 'Enable a client'),
  [`${V1}/clients/{clientId}/keys`]: {
    parameters: [parameters.ClientId],
    get: operation({
      id: 'listKeys',
      summary: "List a client's keys",
      description: 'Ids and status, oldest first; never the keys.',
      tag: 'keys',
      role: 'viewer',
      responses: { ...ok('200', 'The keys.', 'KeyList'), ...errors({ notFound: true }) },
    }),
    post: operation({
      id: 'createKey',
      summary: 'Create a key',
      tag: 'keys',
      role: 'operator',
      requestBody: body('KeyCreate', false),
      responses: {
        ...ok('201', 'Created; the key is shown this once.', 'NewKey'),
        ...errors({ withBody: true, notFound: true }),
      },
    }),
  },
  [`${V1}/clients/{clientId}/keys/{keyId}`]: {
    parameters: [parameters.ClientId, parameters.KeyId],
    delete: operation({
      id: 'revokeKey',
      summary: 'Revoke a key',
      description:
        'The key and every token it obtained stop working at once, on every node. It stays listed as revoked. Revoking a revoked key changes nothing and answers the same.',
      tag: 'keys',
      role: 'operator',
      responses: { ...ok('200', 'The revoked key.', 'Key'), ...errors({ notFound: true }) },
    }),
  },
  [`${V1}/clients/{clientId}/keys/{keyId}/rotate`]: {
    parameters: [parameters.ClientId, parameters.KeyId],
    post: operation({
      id: 'rotateKey',
      summary: 'Rotate a key',
      description:
        'Creates a key of the same alias, scope and lifetime; the old one keeps working for `graceHours`.',
      tag: 'keys',
      role: 'operator',
      requestBody: body('KeyRotate', false),
      responses: {
        ...ok('201', 'The new key (shown this once) and the old one.', 'Rotation'),
        ...errors({ withBody: true, notFound: true, conflict: true }),
      },
    }),
  },
  [`${V1}/introspectors`]: {
    get: operation({
      id: 'listIntrospectors',
      summary: 'List introspectors',
      tag: 'introspectors',
      role: 'viewer',
      responses: { ...ok('200', 'The introspectors.', 'IntrospectorList'), ...errors({}) },
    }),
    post: operation({
      id: 'createIntrospector',
      summary: 'Create an introspector',
      tag: 'introspectors',
      role: 'operator',
      requestBody: body('IntrospectorCreate', true),
      responses: {
        ...ok('201', 'Created; the key is shown this once.', 'NewIntrospector'),
        ...errors({ withBody: true, conflict: true }),
      },
    }),
  },
  [`${V1}/introspectors/{name}`]: {
    parameters: [pathParameter('name', "The introspector's name.")],
    delete: operation({
      id: 'revokeIntrospector',
      summary: 'Revoke an introspector',
      tag: 'introspectors',
      role: 'operator',
      responses: { ...ok('200', 'The revoked introspector.', 'Introspector'), ...errors({ notFound: true }) },
    }),
  },
  [`${V1}/admins`]: {
    get: operation({
      id: 'listAdmins',
      summary: 'List admins',
      tag: 'admins',
      role: 'operator',
      responses: { ...ok('200', 'The admins.', 'AdminList'), ...errors({}) },
    }),
    post: operation({
      id: 'createAdmin',
      summary: 'Create an admin',
      tag: 'admins',
      role: 'operator',
      requestBody: body('AdminCreate', true),
      responses: {
        ...ok('201', 'Created; the token is shown this once.', 'NewAdmin'),
        ...errors({ withBody: true, conflict: true }),
      },
    }),
  },
  [`${V1}/admins/{name}`]: {
    parameters: [pathParameter('name', "The admin's name.")],
    delete: operation({
      id: 'revokeAdmin',
      summary: 'Revoke an admin',
      description:
        'An admin cannot revoke itself (409): the API always leaves an operator; `portcullis admins revoke` can revoke any.',
      tag: 'admins',
      role: 'operator',
      responses: {
        ...ok('200', 'The revoked admin.', 'Admin'),
        ...errors({ notFound: true, conflict: true }),
      },
    }),
  },
  [`${V1}/audit`]: {
    get: operation({
      id: 'readAudit',
      summary: 'Read the audit trail',
      description:
        'Entries in the order they were written, from the oldest that matches. Following `next_cursor` until it is null returns every entry exactly once; entries written meanwhile come on the last pages.',
      tag: 'audit',
      role: 'viewer',
      parameters: [
        query('client', 'Only entries about this ClientId.', NAME),
        query('type', 'Only entries of this type.', { enum: [...auditEventTypes] }),
        query('since', 'Entries at or after this time (RFC 3339).', TIME),
        query('until', 'Entries before this time (RFC 3339).', TIME),
        query(
          'order',
          'Which end the pages start from: `oldest` (the default) or `newest`. Follow a cursor with the order it came with.',
          { enum: ['oldest', 'newest'] },
        ),
        parameters.Limit,
        parameters.Cursor,
      ],
      responses: { ...ok('200', 'A page of entries.', 'AuditPage'), ...errors({}) },
    }),
  },
  [`${V1}/stats`]: {
    get: operation({
      id: 'readStats',
      summary: 'Read the last hour of traffic',
      description:
        "For the dashboard's overview: public API requests, tokens issued, authentication failures and limit refusals per 10-second interval, summed over every worker process; store and cache health.",
      tag: 'stats',
      role: 'viewer',
      parameters: [
        query('minutes', 'The last this many minutes (default 60).', {
          type: 'integer',
          minimum: 1,
          maximum: 60,
        }),
      ],
      responses: { ...ok('200', 'The traffic and health.', 'Stats'), ...errors({}) },
    }),
  },
  [`${V1}/session`]: {
    post: {
      operationId: 'startSession',
      summary: 'Sign in (the dashboard)',
      description:
        'Trades an admin token for a session: an HttpOnly, Secure, SameSite=Strict `__Host-portcullis-session` cookie, valid 8 hours, and the CSRF token that every change made with it must carry in `X-CSRF-Token`. A wrong token counts as a failed authentication.',
      tags: ['session'],
      security: [],
      requestBody: body('SessionStart', true),
      responses: {
        '201': {
          description: 'Signed in.',
          headers: {
            'Set-Cookie': {
              schema: { type: 'string', pattern: '^__Host-portcullis-session=' },
              required: true,
            },
            'Cache-Control': ref('headers', 'NoStore'),
          },
          content: jsonContent('Session'),
        },
        '400': ref('responses', 'BadRequest'),
        '401': ref('responses', 'Unauthorized'),
        '413': ref('responses', 'PayloadTooLarge'),
        '429': ref('responses', 'TooManyRequests'),
        default: ref('responses', 'Failure'),
      },
    },
    get: {
      operationId: 'getSession',
      summary: 'The session in force',
      description: 'With the session cookie; a page reads its CSRF token here after a reload.',
      tags: ['session'],
      security: [{ sessionCookie: [] }],
      responses: {
        '200': {
          description: 'The session.',
          headers: { 'Cache-Control': ref('headers', 'NoStore') },
          content: jsonContent('Session'),
        },
        '401': ref('responses', 'Unauthorized'),
        '429': ref('responses', 'TooManyRequests'),
        default: ref('responses', 'Failure'),
      },
    },
    delete: {
      operationId: 'endSession',
      summary: 'Sign out',
      description: 'Ends the session on every node at once and clears the cookie. Needs `X-CSRF-Token`.',
      tags: ['session'],
      security: [{ sessionCookie: [] }],
      responses: {
        '204': {
          description: 'Signed out.',
          headers: { 'Set-Cookie': { schema: { type: 'string' }, required: true } },
        },
        '401': ref('responses', 'Unauthorized'),
        '403': ref('responses', 'Forbidden'),
        '429': ref('responses', 'TooManyRequests'),
        default: ref('responses', 'Failure'),
      },
    },
  },
  [ADMIN_DOCUMENT_PATH]: {
    get: {
      operationId: 'getAdminOpenApiDocument',
      summary: 'This document',
      description: 'No credentials: it holds no data. HEAD answers as GET without the body.',
      tags: ['meta'],
      security: [],
      responses: {
        '200': {
          description: 'The OpenAPI 3.1 document of the admin listener.',
          headers: { 'Cache-Control': { schema: { const: 'no-cache' }, required: true } },
          content: { 'application/json': { schema: { type: 'object' } } },
        },
        '400': problem('A query string was sent: this endpoint takes none.'),
        '405': ref('responses', 'MethodNotAllowed'),
      },
    },
  },
  // The health checks answer errors as the listener does: problem details here.
  ...healthPaths({ 'application/problem+json': { schema: ref('schemas', 'Problem') } }),
  '/metrics': {
    get: {
      operationId: 'getMetrics',
      summary: 'Metrics',
      description:
        'Prometheus text exposition format. No credentials: serve the admin listener on a private network.',
      tags: ['health'],
      security: [],
      responses: {
        '200': {
          description: 'The metrics.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        '405': ref('responses', 'MethodNotAllowed'),
      },
    },
  },
} satisfies Record<string, PathItemObject>;

function statusChange(action: string, id: string, summary: string): PathItemObject {
  return {
    parameters: [parameters.ClientId],
    post: operation({
      id,
      summary,
      description:
        action === 'disable'
          ? 'Its keys and tokens are refused at once, on every node, until it is enabled again.'
          : 'Its keys work again.',
      tag: 'clients',
      role: 'operator',
      responses: { ...ok('200', 'The client.', 'Client'), ...errors({ notFound: true }) },
    }),
  };
}

/** The admin listener's OpenAPI 3.1 document, frozen. */
export const adminApiDocument: OpenApiDocument = deepFreeze({
  openapi: '3.1.0',
  info: {
    title: 'Portcullis admin API',
    version: '1',
    description:
      'Manages clients, keys, introspectors, admins and reads the audit trail, as the `portcullis` CLI does, on the admin listener (`--admin-port`, default 8444, on `--admin-host`, default 127.0.0.1). Authenticate with `Authorization: Bearer <admin token>` (the first token comes from `portcullis admins create`), or with the dashboard session cookie and `X-CSRF-Token`. Errors are RFC 9457 problem details.',
  },
  tags: [
    { name: 'session' },
    { name: 'clients' },
    { name: 'keys' },
    { name: 'introspectors' },
    { name: 'admins' },
    { name: 'audit' },
    { name: 'stats' },
    { name: 'health' },
    { name: 'meta' },
  ],
  paths,
  components: {
    schemas,
    responses,
    headers,
    securitySchemes: {
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        description: 'An admin token (`pca_…`), from `portcullis admins create` or `POST /admin/v1/admins`.',
      },
      sessionCookie: {
        type: 'apiKey',
        in: 'cookie' as const,
        name: '__Host-portcullis-session',
        description:
          'The dashboard session from `POST /admin/v1/session`; every change made with it also carries `X-CSRF-Token`.',
      },
    },
  },
  security: [{ bearerAuth: [] }, { sessionCookie: [] }],
});
