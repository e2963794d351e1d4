// The OpenAPI 3.1 document of the public listener, served at GET /openapi.json. It describes what the
// handlers do (http/routes.ts and the modules its rows name); test/openapi.test.ts holds real answers
// to it, so a handler that changes its answers without this document fails there.
import { errorCatalogue } from '../errors.js';
import {
  deepFreeze,
  type HeaderObject,
  type HttpMethod,
  healthPaths,
  healthSchemas,
  jsonContent,
  type OpenApiDocument,
  type OperationObject,
  type ParameterObject,
  type PathItemObject,
  type Reference,
  type ResponseObject,
  ref,
  type SchemaObject,
  type SecurityRequirement,
  sharedHeaders,
} from './shared.js';

/** Where the public listener serves this document. */
export const PUBLIC_DOCUMENT_PATH = '/openapi.json';

const TOKEN_PATH = '/v2.01/oauth/token';

/** RFC 6749 §5.2 codes as wire/respond.ts sends them: any other failure is `invalid_request` or `server_error`. */
const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_client',
  'unsupported_grant_type',
  'invalid_scope',
  'server_error',
];

const CLIENT_ID: SchemaObject = {
  type: 'string',
  pattern: '^[A-Za-z0-9_-]{1,64}$',
  description: '1 to 64 of `A-Za-z0-9_-`; never `oauth`.',
};

const nullableText = (maxLength: number): SchemaObject => ({ type: ['string', 'null'], maxLength });
const colour: SchemaObject = { type: ['string', 'null'], pattern: '^#[0-9A-Fa-f]{6}$' };
const emailList: SchemaObject = { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 255 } };
const textRecord = (members: readonly string[]): SchemaObject => ({
  type: ['object', 'null'],
  additionalProperties: false,
  properties: Object.fromEntries(members.map((name) => [name, nullableText(255)])),
});

/** The fields of MANGOPAY's Client object a client may edit (api/client-resource.ts, EDITABLE_FIELDS). */
const editableClientFields = {
  TechEmails: emailList,
  AdminEmails: emailList,
  BillingEmails: emailList,
  FraudEmails: emailList,
  PlatformDescription: nullableText(1000),
  PlatformURL: { ...nullableText(255), description: 'An http(s) URL.' },
  PlatformCategorization: textRecord(['BusinessType', 'Sector']),
  HeadquartersAddress: textRecord([
    'AddressLine1',
    'AddressLine2',
    'City',
    'Region',
    'PostalCode',
    'Country',
  ]),
  HeadquartersPhoneNumber: nullableText(32),
  TaxNumber: nullableText(64),
  PrimaryThemeColour: colour,
  PrimaryButtonColour: colour,
} as const satisfies Record<string, SchemaObject>;

const schemas = {
  ...healthSchemas,
  ApiError: {
    description:
      "MANGOPAY's error shape (wire/respond.ts). `Type` is a stable code of the error catalogue; `Id` the request id, also sent as `X-Request-Id`; `Date` Unix seconds; `errors` per-field messages for `param_error`, null otherwise.",
    type: 'object',
    required: ['Message', 'Type', 'Id', 'Date', 'errors'],
    additionalProperties: false,
    properties: {
      Message: { type: 'string' },
      // Every code of the catalogue (src/errors.ts): a new code shows up here by itself.
      Type: { type: 'string', enum: Object.keys(errorCatalogue) },
      Id: { type: 'string', format: 'uuid' },
      Date: { type: 'integer', minimum: 0 },
      errors: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    },
  },
  TokenRequest: {
    description:
      'RFC 6749 §4.4.2. Form-encoded, or as MANGOPAY’s SDKs also send it: a JSON object of strings, or multipart/form-data. A parameter sent twice, a `client_secret` (credentials go in Basic only) and a body over 4 KiB are refused; an empty value counts as omitted.',
    type: 'object',
    required: ['grant_type'],
    properties: {
      grant_type: { const: 'client_credentials' },
      scope: {
        type: 'string',
        pattern: '^(read|write)( (read|write))*$',
        description: 'RFC 6749 §3.3: at most the key’s scope; omitted, all of it.',
      },
      client_id: { ...CLIENT_ID, description: 'Optional; when sent, the ClientId of the Basic credentials.' },
    },
  },
  TokenResponse: {
    description: 'RFC 6749 §5.1: exactly these members; no refresh token, no `scope`.',
    type: 'object',
    required: ['access_token', 'token_type', 'expires_in'],
    additionalProperties: false,
    properties: {
      access_token: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'Opaque.' },
      token_type: { const: 'Bearer' },
      expires_in: { type: 'integer', minimum: 1 },
    },
  },
  TokenParameter: {
    description: 'RFC 7009 §2.1 and RFC 7662 §2.1, in the same body shapes as the token request.',
    type: 'object',
    required: ['token'],
    properties: {
      token: { type: 'string' },
      token_type_hint: { type: 'string', description: 'Accepted and ignored: only access tokens exist.' },
    },
  },
  Introspection: {
    description: 'RFC 7662 §2.2: an inactive token gets `{"active":false}` and nothing more.',
    oneOf: [
      {
        type: 'object',
        required: ['active', 'client_id', 'scope', 'token_type', 'exp', 'iat'],
        additionalProperties: false,
        properties: {
          active: { const: true },
          client_id: CLIENT_ID,
          scope: { enum: ['read', 'read write'] },
          token_type: { const: 'Bearer' },
          exp: { type: 'integer', description: 'Unix seconds.' },
          iat: { type: 'integer', description: 'Unix seconds.' },
        },
      },
      {
        type: 'object',
        required: ['active'],
        additionalProperties: false,
        properties: { active: { const: false } },
      },
    ],
  },
  OAuthError: {
    description: 'RFC 6749 §5.2.',
    type: 'object',
    required: ['error', 'error_description'],
    additionalProperties: false,
    properties: {
      error: { enum: OAUTH_ERROR_CODES },
      error_description: { type: 'string' },
    },
  },
  Client: {
    description: "The authenticated client's record, with MANGOPAY's field names.",
    type: 'object',
    required: [
      'ClientId',
      'Name',
      'RegisteredName',
      'Logo',
      'CreationDate',
      ...Object.keys(editableClientFields),
    ],
    additionalProperties: false,
    properties: {
      ClientId: CLIENT_ID,
      Name: { type: 'string' },
      RegisteredName: { type: 'string' },
      Logo: { type: 'null' },
      CreationDate: { type: 'integer', description: 'Unix seconds.' },
      ...editableClientFields,
    },
  },
  ClientUpdate: {
    description:
      'The editable fields; null or absent leaves a field unchanged. Other fields (read-only ones, fields not kept) are ignored, as SDKs send their whole model back.',
    type: 'object',
    properties: editableClientFields,
  },
  OpenApiDocument: {
    description: 'This document (OpenAPI 3.1).',
    type: 'object',
    required: ['openapi', 'info', 'paths'],
    properties: { openapi: { type: 'string', pattern: '^3\\.1\\.' } },
  },
} as const satisfies Record<string, SchemaObject>;

const rateLimitHeader = (description: string): HeaderObject => ({
  description: `${description}, one comma-separated value per window; absent when the client's limits are off.`,
  schema: { type: 'string', pattern: '^[0-9]+(,[0-9]+)*$' },
});

const identityHeader = (description: string, schema: SchemaObject): HeaderObject => ({
  description,
  required: true,
  schema,
});

const headers = {
  ...sharedHeaders,
  Pragma: { description: 'RFC 6749 §5.1.', required: true, schema: { const: 'no-cache' } },
  NoCache: { description: 'May be cached, and revalidated.', required: true, schema: { const: 'no-cache' } },
  BasicChallenge: {
    description: 'RFC 7617 §2: `Basic realm="portcullis", charset="UTF-8"`.',
    required: true,
    schema: { type: 'string' },
  },
  ApiChallenge: {
    description:
      'RFC 6750 §3: `Bearer realm="portcullis"` and `Basic realm="portcullis", charset="UTF-8"` when no usable credentials were sent; `Bearer realm="portcullis", error="invalid_token", …` for a bad or expired token; Basic for a refused API key.',
    required: true,
    schema: { type: 'string' },
  },
  ScopeChallenge: {
    description: 'RFC 6750 §3.1, to a Bearer caller lacking the write scope: `error="insufficient_scope"`.',
    schema: { type: 'string' },
  },
  RetryAfter: {
    description: 'Seconds to wait (RFC 9110 §10.2.3).',
    required: true,
    schema: { type: 'string', pattern: '^[0-9]+$' },
  },
  RateLimit: rateLimitHeader('Calls made'),
  RateLimitRemaining: rateLimitHeader('Calls left'),
  RateLimitReset: rateLimitHeader('When each window resets, Unix seconds'),
  ClientId: identityHeader('The authenticated ClientId.', CLIENT_ID),
  ApiKeyId: identityHeader('The id of the API key used, or of the key the token was issued to.', {
    type: 'string',
  }),
  AuthMethod: identityHeader('How the call authenticated.', { enum: ['basic', 'bearer'] }),
  AuthScope: identityHeader('RFC 6749 §3.3: the key’s scope, or the token’s.', {
    enum: ['read', 'read write'],
  }),
} as const satisfies Record<string, HeaderObject>;

/** OAuth answers are never cached (RFC 6749 §5.1, §5.2). */
const oauthCacheHeaders = {
  'Cache-Control': ref('headers', 'NoStore'),
  Pragma: ref('headers', 'Pragma'),
} as const;

function oauthError(description: string, extra: Readonly<Record<string, Reference>> = {}): ResponseObject {
  return { description, headers: { ...oauthCacheHeaders, ...extra }, content: jsonContent('OAuthError') };
}

const limitHeaders = {
  'X-RateLimit': ref('headers', 'RateLimit'),
  'X-RateLimit-Remaining': ref('headers', 'RateLimitRemaining'),
  'X-RateLimit-Reset': ref('headers', 'RateLimitReset'),
} as const;

function apiError(description: string, extra: Readonly<Record<string, Reference>> = {}): ResponseObject {
  return {
    description,
    headers: {
      'Cache-Control': ref('headers', 'NoStore'),
      'X-Request-Id': ref('headers', 'RequestId'),
      ...extra,
    },
    content: jsonContent('ApiError'),
  };
}

const responses = {
  OAuthBadRequest: oauthError(
    '`invalid_request` (a parameter missing or repeated, credentials sent two ways, anything in the query string, a body of another shape, a `client_id` that is not the Basic one), `unsupported_grant_type` or `invalid_scope`.',
  ),
  OAuthUnauthorized: oauthError('`invalid_client`: the credentials are missing or not valid.', {
    'WWW-Authenticate': ref('headers', 'BasicChallenge'),
  }),
  OAuthBrowser: oauthError('A request from a browser (`invalid_request`): the API is server-to-server only.'),
  OAuthTooLarge: oauthError('A body over 4 KiB (`invalid_request`).'),
  OAuthTooMany: oauthError(
    'Too many failed authentications from this address, or (token endpoint) too many tokens for this client (`invalid_request`).',
    { 'Retry-After': ref('headers', 'RetryAfter') },
  ),
  OAuthServerError: oauthError('`server_error`: the store could not be reached (503), or a fault (500).'),
  ApiBadRequest: apiError(
    '`invalid_request` (a path an upstream could read differently, a token in the URL, a duplicated header, …) or `param_error` (per-field messages in `errors`).',
  ),
  ApiUnauthorized: apiError(
    '`authentication_required`, `invalid_credentials`, `wrong_environment` or `invalid_token`.',
    { 'WWW-Authenticate': ref('headers', 'ApiChallenge') },
  ),
  ApiForbidden: apiError(
    '`forbidden` (another client’s ClientId in the path), `insufficient_scope` (a read-scoped key or token, a method other than GET or HEAD) or `browser_not_allowed`.',
    { 'WWW-Authenticate': ref('headers', 'ScopeChallenge') },
  ),
  ApiTooMany: apiError(
    '`rate_limit`: past a window of the client’s limits, or too many failed authentications.',
    {
      'Retry-After': ref('headers', 'RetryAfter'),
    },
  ),
  ApiServerError: apiError(
    '`store_unavailable` or `cache_unavailable` (503, with `Retry-After`), or `server_error`.',
  ),
} as const satisfies Record<string, ResponseObject>;

const parameters = {
  ClientId: {
    name: 'ClientId',
    in: 'path',
    required: true,
    description: 'The authenticated client’s own ClientId; another gets 403.',
    schema: CLIENT_ID,
  },
} as const satisfies Record<string, ParameterObject>;

const oauthFormBody = (schema: string) => ({
  required: true,
  content: {
    'application/x-www-form-urlencoded': { schema: ref('schemas', schema) },
    'application/json': { schema: ref('schemas', schema) },
    'multipart/form-data': { schema: ref('schemas', schema) },
  },
});

/** The answers every OAuth endpoint shares (oauth/endpoint-steps.ts). */
const oauthFailures = {
  '400': ref('responses', 'OAuthBadRequest'),
  '401': ref('responses', 'OAuthUnauthorized'),
  '403': ref('responses', 'OAuthBrowser'),
  '413': ref('responses', 'OAuthTooLarge'),
  '429': ref('responses', 'OAuthTooMany'),
  '5XX': ref('responses', 'OAuthServerError'),
} as const;

/** The answers of admission (api/admission.ts), which every route under `/v2.01/{ClientId}/` runs first. */
const admissionFailures = {
  '400': ref('responses', 'ApiBadRequest'),
  '401': ref('responses', 'ApiUnauthorized'),
  '403': ref('responses', 'ApiForbidden'),
  '429': ref('responses', 'ApiTooMany'),
  '5XX': ref('responses', 'ApiServerError'),
} as const;

/**
 * An API call authenticates with Basic (the API key on every call) or a Bearer token from the token
 * endpoint (`oauth2` says how to get one and its scopes; `bearer` is the same token for tools without
 * OAuth flows). GET and HEAD need `read`, other methods `write`.
 */
function apiSecurity(method: HttpMethod): readonly SecurityRequirement[] {
  const scope = method === 'get' || method === 'head' ? 'read' : 'write';
  return [{ oauth2: [scope] }, { bearer: [] }, { basic: [] }];
}

const ALL_METHODS: readonly HttpMethod[] = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];

/** The same operation under every method, as a route that does not look at the method is. */
function everyMethod(make: (method: HttpMethod) => OperationObject): PathItemObject {
  return Object.fromEntries(ALL_METHODS.map((method) => [method, make(method)]));
}

const clientsResponses = (success: string) => ({
  '200': {
    description: success,
    headers: limitHeaders,
    content: jsonContent('Client'),
  },
  ...admissionFailures,
});

const forwardAuthOperation =
  (path: 'headers' | 'suffix') =>
  (method: HttpMethod): OperationObject => ({
    operationId: `forwardAuth${path === 'headers' ? '' : 'Path'}${method[0]?.toUpperCase()}${method.slice(1)}`,
    summary: 'May the described call pass?',
    description:
      path === 'headers'
        ? 'For nginx `auth_request`, Caddy `forward_auth` and Traefik `forwardAuth`: the original request in `X-Forwarded-Method` and `X-Forwarded-Uri`, or `X-Original-Method` and `X-Original-URI` (both pairs, when sent, must agree). Admitted as the gateway admits a call; any method.'
        : 'For Envoy `ext_authz`: the original path follows `/forward-auth`, with the query, and the method is this request’s.',
    tags: ['forward-auth'],
    security: [{ bearer: [] }, { basic: [] }],
    parameters:
      path === 'headers'
        ? [
            { name: 'X-Forwarded-Method', in: 'header', schema: { type: 'string' } },
            { name: 'X-Forwarded-Uri', in: 'header', schema: { type: 'string', pattern: '^/' } },
            { name: 'X-Original-Method', in: 'header', schema: { type: 'string' } },
            { name: 'X-Original-URI', in: 'header', schema: { type: 'string', pattern: '^/' } },
          ]
        : [
            {
              name: 'path',
              in: 'path',
              required: true,
              description:
                'The original path without its leading slash, e.g. `v2.01/acme/users`: it spans segments.',
              schema: { type: 'string' },
            },
          ],
    responses: {
      '200': {
        description: 'Allowed: no body, who made the call, and the limits.',
        headers: {
          'X-Client-Id': ref('headers', 'ClientId'),
          'X-Api-Key-Id': ref('headers', 'ApiKeyId'),
          'X-Auth-Method': ref('headers', 'AuthMethod'),
          'X-Auth-Scope': ref('headers', 'AuthScope'),
          ...limitHeaders,
        },
      },
      '401': ref('responses', 'ApiUnauthorized'),
      '403': apiError(
        'Refused: `forbidden`, `insufficient_scope`, `browser_not_allowed`, or any other refusal (a malformed or dangerous original URI, a path that is not an API call, conflicting descriptions, …) with its message, since nginx passes on only 401 and 403.',
        { 'WWW-Authenticate': ref('headers', 'ScopeChallenge') },
      ),
      '429': ref('responses', 'ApiTooMany'),
      '5XX': ref('responses', 'ApiServerError'),
    },
  });

const gatewayOperation = (method: HttpMethod): OperationObject => ({
  operationId: `gateway${method[0]?.toUpperCase()}${method.slice(1)}`,
  summary: 'Any other API call, forwarded to the upstream',
  description:
    'With `--upstream`, admitted then forwarded with the identity headers: method, path, query, body and the upstream’s status and body unchanged, plus `X-Request-Id` and the limits. A refusal before forwarding is in the `ApiError` shape with the statuses of admission; 404 `not_found` without an upstream, 502 `upstream_unavailable` when it cannot be reached. `{resource}` spans segments.',
  tags: ['api'],
  security: apiSecurity(method),
  parameters: [
    ref('parameters', 'ClientId'),
    { name: 'resource', in: 'path', required: true, schema: { type: 'string' } },
  ],
  responses: {
    default: {
      description: 'The upstream’s answer, or a refusal in the `ApiError` shape.',
      headers: { 'X-Request-Id': ref('headers', 'RequestId'), ...limitHeaders },
      content: { '*/*': {} },
    },
  },
});

const paths = {
  [TOKEN_PATH]: {
    description:
      'Also served at `/v2.01/oauth/token/`, `/V2_01/oauth/token` and `/V2_01/oauth/token/` (MANGOPAY’s Java SDK).',
    post: {
      operationId: 'issueToken',
      summary: 'Client credentials grant (RFC 6749 §4.4)',
      description:
        'client_secret_basic (RFC 6749 §2.3.1): the ClientId and API key in HTTP Basic, nothing in the URL.',
      tags: ['oauth'],
      security: [{ basic: [] }],
      requestBody: oauthFormBody('TokenRequest'),
      responses: {
        '200': {
          description: 'RFC 6749 §5.1.',
          headers: oauthCacheHeaders,
          content: jsonContent('TokenResponse'),
        },
        ...oauthFailures,
      },
    },
  },
  '/v2.01/oauth/revoke': {
    post: {
      operationId: 'revokeToken',
      summary: 'Token revocation (RFC 7009)',
      description:
        'The client authenticates as at the token endpoint and ends one of its own tokens. 200 whether or not the token was valid or the caller’s (§2.2).',
      tags: ['oauth'],
      security: [{ basic: [] }],
      requestBody: oauthFormBody('TokenParameter'),
      responses: {
        '200': { description: 'Done, or nothing to do: no body.', headers: oauthCacheHeaders },
        ...oauthFailures,
      },
    },
  },
  '/v2.01/oauth/introspect': {
    post: {
      operationId: 'introspectToken',
      summary: 'Token introspection (RFC 7662)',
      description:
        'For resource servers: only introspection credentials may ask (§2.1); anyone else gets 401.',
      tags: ['oauth'],
      security: [{ introspection: [] }],
      requestBody: oauthFormBody('TokenParameter'),
      responses: {
        '200': {
          description: 'RFC 7662 §2.2.',
          headers: oauthCacheHeaders,
          content: jsonContent('Introspection'),
        },
        ...oauthFailures,
      },
    },
  },
  '/v2.01/{ClientId}/clients': {
    description: 'Another method gets 405 `method_not_allowed` with `Allow: GET, HEAD, PUT`.',
    parameters: [ref('parameters', 'ClientId')],
    get: {
      operationId: 'getClient',
      summary: "The client's own record",
      tags: ['api'],
      security: apiSecurity('get'),
      responses: clientsResponses('The record.'),
    },
    head: {
      operationId: 'headClient',
      summary: "The client's own record, without the body",
      tags: ['api'],
      security: apiSecurity('head'),
      responses: clientsResponses('The record’s headers.'),
    },
    put: {
      operationId: 'updateClient',
      summary: "Updates the client's editable fields",
      description:
        'A field that fails its check is named in `errors` (400 `param_error`); nothing is changed then.',
      tags: ['api'],
      security: apiSecurity('put'),
      requestBody: { required: true, content: jsonContent('ClientUpdate') },
      responses: {
        ...clientsResponses('The updated record.'),
        '404': apiError('`not_found`: the client was deleted meanwhile.'),
        '413': apiError('`payload_too_large`: a body over 64 KiB.'),
      },
    },
  },
  '/v2.01/{ClientId}/{resource}': everyMethod(gatewayOperation),
  '/forward-auth': everyMethod(forwardAuthOperation('headers')),
  '/forward-auth/{path}': everyMethod(forwardAuthOperation('suffix')),
  ...healthPaths(jsonContent('ApiError')),
  [PUBLIC_DOCUMENT_PATH]: {
    description:
      'Also at `/openapi.json/`. Another method gets 405 `method_not_allowed` with `Allow: GET, HEAD`.',
    get: {
      operationId: 'getPublicDocument',
      summary: 'This document',
      description: 'No credentials; answered to browsers too.',
      tags: ['meta'],
      security: [],
      responses: {
        '200': {
          description: 'OpenAPI 3.1.',
          headers: { 'Cache-Control': ref('headers', 'NoCache') },
          content: jsonContent('OpenApiDocument'),
        },
        '400': apiError('A query string was sent (`invalid_request`).'),
      },
    },
  },
} as const satisfies Record<string, PathItemObject>;

/** The public listener's document: built once, frozen, and serialized once by its route. */
export const publicApiDocument: OpenApiDocument = deepFreeze({
  openapi: '3.1.0',
  info: {
    title: 'Portcullis public API',
    version: '0.1.0',
    summary: 'MANGOPAY-compatible API authentication: Basic and OAuth 2.0 client credentials.',
    description:
      'HTTPS only. Requests from browsers are refused (403 `browser_not_allowed`) except on the health checks and this document. Requests the listener cannot parse are answered in the `ApiError` shape before any route: 400 `invalid_request`, 408 `request_timeout`, 431 `header_too_large`; plain HTTP gets 400 `https_required`. The admin API has its own document on the admin listener.',
    license: { name: 'MIT', identifier: 'MIT' },
  },
  tags: [
    {
      name: 'oauth',
      description:
        'Token, revocation and introspection endpoints (RFC 6749 §5.2 errors). POST only: another method gets 405 with `Allow: POST`.',
    },
    { name: 'api', description: 'Under `/v2.01/{ClientId}/` (MANGOPAY’s error shape).' },
    {
      name: 'forward-auth',
      description: 'For reverse proxies that carry the traffic (docs/forward-auth.md).',
    },
    { name: 'health', description: 'For load balancers and orchestrators.' },
    { name: 'meta', description: 'This document.' },
  ],
  paths,
  components: {
    schemas,
    headers,
    responses,
    parameters,
    securitySchemes: {
      oauth2: {
        type: 'oauth2',
        description: 'A token from the token endpoint, sent as `Authorization: Bearer` (RFC 6750 §2.1).',
        flows: {
          clientCredentials: {
            tokenUrl: TOKEN_PATH,
            scopes: { read: 'GET and HEAD calls.', write: 'Every call; includes read.' },
          },
        },
      },
      basic: {
        type: 'http',
        scheme: 'basic',
        description: '`Basic base64(ClientId:ApiKey)` (RFC 7617), as MANGOPAY’s documentation builds it.',
      },
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'A token from the token endpoint (RFC 6750 §2.1), the scheme name in any case.',
      },
      introspection: {
        type: 'http',
        scheme: 'basic',
        description:
          '`Basic base64(NAME:ApiKey)` of an introspection credential (`portcullis introspectors create`).',
      },
    },
  },
});
