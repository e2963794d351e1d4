import type { ServerResponse } from 'node:http';
import { errorCatalogue, type PortcullisError, type ResponseHeaders } from '../errors.js';

function sendJson(res: ServerResponse, status: number, body: unknown, headers?: ResponseHeaders): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** For bodies serialized ahead of time, such as cached views. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  payload: string,
  headers?: ResponseHeaders,
): void {
  // RFC 8259 §11: application/json has no charset parameter; JSON text is UTF-8.
  const contentHeaders = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) };
  res.writeHead(status, headers === undefined ? contentHeaders : { ...headers, ...contentHeaders });
  res.end(payload);
}

/**
 * MANGOPAY's error shape, used on every API route: `Type` is the stable code from the catalogue, `Id` the
 * request id (also in `X-Request-Id`), `Date` Unix seconds. `errors` carries per-field messages for
 * param_error and is null otherwise.
 */
export function sendApiError(res: ServerResponse, requestId: string, error: PortcullisError): void {
  sendJson(res, error.status, apiErrorBody(requestId, error), {
    ...error.headers,
    'Cache-Control': 'no-store',
  });
}

export function apiErrorBody(requestId: string, error: PortcullisError) {
  return {
    Message: error.message,
    Type: error.code,
    Id: requestId,
    Date: Math.floor(Date.now() / 1000),
    errors: error.fieldErrors,
  };
}

/** The media type of problem details (RFC 9457 §3). */
export const PROBLEM_JSON = 'application/problem+json';

/**
 * Problem details (RFC 9457), the error shape of the admin listener. `type` names the stable code as a URN
 * and `title` is the catalogue's message for it, the same for every occurrence (§3.1.3); `detail` is this
 * occurrence's message when it says more. Extension members (§3.2): `code`, `requestId` (also in
 * `X-Request-Id`), and `errors`, the offending fields of a bad body with what is wrong with each.
 */
export function sendProblem(res: ServerResponse, requestId: string, error: PortcullisError): void {
  const title = errorCatalogue[error.code].message;
  const payload = JSON.stringify({
    type: `urn:portcullis:problem:${error.code}`,
    title,
    status: error.status,
    ...(error.message !== title && { detail: error.message }),
    code: error.code,
    requestId,
    ...(error.fieldErrors !== null && { errors: error.fieldErrors }),
  });
  res.writeHead(error.status, {
    ...error.headers,
    'Cache-Control': 'no-store',
    'Content-Type': PROBLEM_JSON,
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** RFC 6749 §5.2 error response, used by the token, revocation and introspection endpoints. */
export function sendOAuthError(res: ServerResponse, error: PortcullisError): void {
  sendJson(
    res,
    error.status,
    { error: oauthErrorCode(error), error_description: error.message },
    { ...error.headers, 'Cache-Control': 'no-store', Pragma: 'no-cache' },
  );
}

const OAUTH_ERROR_CODES = new Set([
  'invalid_request',
  'invalid_client',
  'unsupported_grant_type',
  'invalid_scope',
]);

function oauthErrorCode(error: PortcullisError): string {
  if (OAUTH_ERROR_CODES.has(error.code)) return error.code;
  return error.status >= 500 ? 'server_error' : 'invalid_request';
}
