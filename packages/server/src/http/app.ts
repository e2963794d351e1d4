import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateRequest } from '../api/authenticate-request.js';
import { handleClientResource } from '../api/client-resource.js';
import type { Gateway } from '../api/gateway.js';
import { checkApiTarget } from '../api/upstream-path.js';
import { scopeAllowsMethod } from '../domain/scope.js';
import { PortcullisError, toPortcullisError } from '../errors.js';
import { bearerChallenge } from '../oauth/challenges.js';
import { handleIntrospectionRequest } from '../oauth/introspection-endpoint.js';
import { handleRevocationRequest } from '../oauth/revocation-endpoint.js';
import { handleTokenRequest } from '../oauth/token-endpoint.js';
import type { Services } from '../services.js';
import { comesFromBrowser } from '../wire/request.js';
import { sendApiError, sendOAuthError } from '../wire/respond.js';
import type { RequestHandler } from './listener.js';

const INSUFFICIENT_SCOPE_CHALLENGE = `${bearerChallenge({
  code: 'insufficient_scope',
  description: 'This call needs the write scope',
})}, scope="write"`;

type OAuthHandler = typeof handleTokenRequest;

/**
 * The OAuth endpoints, each also under a trailing slash; they answer errors in RFC 6749 §5.2's shape.
 *
 * The token endpoint is also at `/V2_01/oauth/token`: MANGOPAY's Java SDK (2.57.0 and later) builds that
 * URL from its version enum's name instead of its value, and MANGOPAY answers it. No other spelling is
 * accepted (`/V2.01/`, `/v2_01/`, …): no official SDK sends one, and every alias is one more path that a
 * proxy in front may route differently from us. The Java SDK's other calls use `/v2.01/` as usual.
 */
const OAUTH_ENDPOINTS: ReadonlyMap<string, OAuthHandler> = new Map(
  (
    [
      ['/v2.01/oauth/token', handleTokenRequest],
      ['/V2_01/oauth/token', handleTokenRequest],
      ['/v2.01/oauth/revoke', handleRevocationRequest],
      ['/v2.01/oauth/introspect', handleIntrospectionRequest],
    ] as const
  ).flatMap(([path, handler]) => [
    [path, handler],
    [`${path}/`, handler],
  ]),
);

/**
 * Routes every HTTPS request. Errors end here: OAuth shape on the token endpoint, MANGOPAY's elsewhere,
 * each with a request id in the body, in `X-Request-Id` and in the log line. Successful built-in answers
 * carry no request id: minting one costs time on the hot path and nothing refers to it.
 */
export function createRequestHandler(services: Services, gateway: Gateway | undefined): RequestHandler {
  return (req, res) => {
    const url = req.url ?? '';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = queryStart === -1 ? '' : url.slice(queryStart + 1);
    const oauthEndpoint = OAUTH_ENDPOINTS.get(path);

    route(services, gateway, req, res, path, query, oauthEndpoint).catch((thrown: unknown) => {
      const error = toPortcullisError(thrown);
      const requestId = randomUUID();
      const fields = { requestId, code: error.code, status: error.status, detail: error.detail };
      if (error.status >= 500) services.logger.error('request.failed', fields);
      else if (error.status === 401) services.logger.warn('request.unauthenticated', fields);
      else if (error.status === 429) services.logger.warn('request.limited', fields);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.setHeader('X-Request-Id', requestId);
      if (oauthEndpoint !== undefined) sendOAuthError(res, error);
      else sendApiError(res, requestId, error);
    });
  };
}

async function route(
  services: Services,
  gateway: Gateway | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: string,
  oauthEndpoint: OAuthHandler | undefined,
): Promise<void> {
  const now = Date.now();
  requireHostHeader(req);
  // MANGOPAY's documentation: "All API communication should be done from your server directly to our
  // server." Refused
  // before anything else, CORS preflights included, and answered without any Access-Control-* header.
  if (comesFromBrowser(req)) throw new PortcullisError('browser_not_allowed');
  if (oauthEndpoint !== undefined) return oauthEndpoint(services, req, res, query, now);
  // `/v2.01/{ClientId}/{resource}`, where every segment reads the same to any upstream (see
  // checkApiTarget); ClientId syntax is checked by authentication, not here.
  const target = checkApiTarget(path, query);
  if (target.kind === 'not_api') throw new PortcullisError('not_found');
  if (target.kind === 'refused') {
    throw new PortcullisError('invalid_request', { message: target.reason, detail: 'path refused' });
  }
  const { clientId: pathClientId, resource } = target;
  if (pathClientId === 'oauth') throw new PortcullisError('not_found');

  const principal = await authenticateRequest(services, req, query, now);
  // The segment has no escapes when it equals a ClientId ([A-Za-z0-9_-]), so decoded it is the same.
  if (principal.client.clientId !== pathClientId) {
    throw new PortcullisError('forbidden', {
      detail: `client ${principal.client.clientId} asked for another path`,
    });
  }
  if (!scopeAllowsMethod(principal.scope, req.method)) {
    throw new PortcullisError('insufficient_scope', {
      detail: `${principal.scope} scope, ${req.method} request`,
      // RFC 6750 §3.1: a Bearer caller learns which scope it lacks.
      ...(principal.method === 'bearer' && { headers: { 'WWW-Authenticate': INSUFFICIENT_SCOPE_CHALLENGE } }),
    });
  }
  services.keyUsage.touch(principal.key.keyId, now);
  const limitHeaders = await services.limits.countApiCall(principal.client, now);
  try {
    if (resource === 'clients' || resource === 'clients/') {
      return await handleClientResource(services, principal, req, res, now, limitHeaders);
    }
    if (gateway === undefined) {
      throw new PortcullisError('not_found', { detail: 'no upstream is configured' });
    }
    const pathAndQuery = path + (query === '' ? '' : `?${query}`);
    return await gateway.forward(principal, req, res, pathAndQuery, services.addressOf(req), limitHeaders);
  } catch (error) {
    // Error answers state the limits too; success paths write them with their own headers, in one go.
    if (limitHeaders !== undefined && !res.headersSent) {
      for (const [name, value] of Object.entries(limitHeaders)) res.setHeader(name, value as string);
    }
    throw error;
  }
}

/** RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without a Host header. */
function requireHostHeader(req: IncomingMessage): void {
  if (req.headers.host !== undefined || req.httpVersionMinor === 0) return;
  throw new PortcullisError('invalid_request', { message: 'An HTTP/1.1 request must carry a Host header.' });
}
