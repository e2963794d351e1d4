import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PortcullisError, toPortcullisError } from '../errors.js';
import type { RequestMetrics } from '../metrics/metrics.js';
import type { RequestHandler } from '../net/listener.js';
import type { Services } from '../services.js';
import type { Caller, Exchange } from '../wire/exchange.js';
import { comesFromBrowser, isSameOriginBrowserRequest } from '../wire/request.js';
import { sendApiError, sendOAuthError, sendProblem } from '../wire/respond.js';
import type { BrowserPolicy, ErrorShape, RouteTable } from './routes.js';

type AddressOf = (req: IncomingMessage) => string;

/**
 * Serves every HTTPS request of one listener from its route table. Errors end here, in the shape of the
 * route (the listener's own when no route matched), each with the request id in the body, in `X-Request-Id` and in
 * the log line. Successful built-in answers carry no request id: nothing refers to it but the access line,
 * which a client's ClientId and the time find as well. With `accessLog`, one line per request when its
 * connection is done with it.
 */
export function createRequestHandler(
  services: Services,
  table: RouteTable,
  /** The client's address: the peer's, or the one a trusted proxy of this listener forwarded. */
  addressOf: AddressOf,
): RequestHandler {
  const { accessLog } = services.options;
  const metrics = services.metrics.requestsOf(table.listener);
  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = queryStart === -1 ? '' : url.slice(queryStart + 1);
    const exchange = new RequestExchange(req, res, path, query, Date.now(), addressOf);
    const fixed = table.fixed(path);
    if (fixed !== undefined) exchange.route = fixed.name;
    if (accessLog || metrics !== undefined) {
      const level = fixed?.probe === true ? 'debug' : 'info';
      res.once('close', () => {
        if (metrics !== undefined) recordRequest(metrics, exchange, started);
        if (accessLog) logAccess(services, exchange, started, level);
      });
    }
    serve(services, table, exchange, fixed).catch((thrown: unknown) =>
      answerError(services, exchange, toPortcullisError(thrown), fixed?.errors ?? table.errors),
    );
  };
}

class RequestExchange implements Exchange {
  readonly #addressOf: AddressOf;
  #clientAddress: string | undefined;
  #requestId: string | undefined;
  caller: Caller | undefined;
  /** The route's name once one is chosen; `none` for a request refused before (404 included). */
  route = 'none';
  /** The error code it was answered with, if any. */
  error: string | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly path: string,
    readonly query: string,
    readonly now: number,
    addressOf: AddressOf,
  ) {
    this.#addressOf = addressOf;
  }

  /**
   * Worked out when a step first asks, not before: a trusted proxy's unusable X-Forwarded-For is refused
   * (400) only where the address is needed, after the path and the request's own checks.
   */
  get clientAddress(): string {
    this.#clientAddress ??= this.#addressOf(this.req);
    return this.#clientAddress;
  }

  /** The client address for a log line, which must not throw: the peer's when the forwarded one is unusable. */
  get loggedAddress(): string {
    try {
      return this.clientAddress;
    } catch {
      return this.req.socket.remoteAddress ?? 'unknown';
    }
  }

  get requestId(): string {
    this.#requestId ??= randomUUID();
    return this.#requestId;
  }
}

/** The status sent, or 499 (as nginx logs it) when the connection closed before the answer was complete. */
function sentStatus(res: ServerResponse): number {
  return res.writableFinished ? res.statusCode : 499;
}

function recordRequest(metrics: RequestMetrics, exchange: RequestExchange, started: number): void {
  const { caller } = exchange;
  metrics.record(
    exchange.route,
    sentStatus(exchange.res),
    (performance.now() - started) / 1000,
    caller !== undefined && 'clientId' in caller ? caller.clientId : undefined,
  );
}

/**
 * The access line, at info (debug for health probes). Its status is the one sent, or 499 (as nginx logs
 * it) when the connection closed before the answer was complete. No path: the route's name says what was
 * asked, and a path behind the gateway is the upstream's to interpret (and to log, under the request id
 * it is given).
 */
function logAccess(
  services: Services,
  exchange: RequestExchange,
  started: number,
  level: 'info' | 'debug',
): void {
  const { req, res, caller } = exchange;
  services.logger[level]('request', {
    method: req.method,
    route: exchange.route,
    status: sentStatus(res),
    ms: Math.round((performance.now() - started) * 100) / 100,
    clientId: caller !== undefined && 'clientId' in caller ? caller.clientId : null,
    keyId: caller !== undefined && 'keyId' in caller ? caller.keyId : null,
    introspector: caller !== undefined && 'introspector' in caller ? caller.introspector : undefined,
    admin: caller !== undefined && 'admin' in caller ? caller.admin : undefined,
    authMethod: caller?.method ?? 'none',
    requestId: exchange.requestId,
    clientAddress: exchange.loggedAddress,
    error: exchange.error,
  });
}

async function serve(
  services: Services,
  table: RouteTable,
  exchange: RequestExchange,
  fixed: ReturnType<RouteTable['fixed']>,
): Promise<void> {
  requireHostHeader(exchange.req);
  if (fixed?.probe !== true) refuseBrowsers(exchange.req, table.browsers);
  if (fixed !== undefined) return fixed.handle(services, exchange);
  const { route, pathClientId } = table.api(exchange.path, exchange.query);
  exchange.route = route.name;
  const admission = await route.admit(services, exchange, pathClientId);
  try {
    return await route.handle(services, exchange, admission);
  } catch (error) {
    // Error answers state the limits too; success paths write them with their own headers, in one go.
    const { res } = exchange;
    if (admission.limitHeaders !== undefined && !res.headersSent) {
      for (const [name, value] of Object.entries(admission.limitHeaders))
        res.setHeader(name, value as string);
    }
    throw error;
  }
}

/** RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without a Host header. */
function requireHostHeader(req: IncomingMessage): void {
  if (req.headers.host !== undefined || req.httpVersionMinor === 0) return;
  throw new PortcullisError('invalid_request', { message: 'An HTTP/1.1 request must carry a Host header.' });
}

/**
 * MANGOPAY's documentation: "All API communication should be done from your server directly to our
 * server." Refused before anything else, CORS preflights included, and answered without any
 * Access-Control-* header. Health checks (rows with `probe`) are exempt: they hold nothing of a
 * client's, and an operator may open them in a browser. The admin listener serves the dashboard, so a
 * browser may call it from the dashboard's own pages; any other site's page is refused (against CSRF and
 * clickjacking, beside SameSite cookies, CSRF tokens and frame-ancestors).
 */
function refuseBrowsers(req: IncomingMessage, policy: BrowserPolicy): void {
  if (!comesFromBrowser(req)) return;
  if (policy === 'same-origin' && isSameOriginBrowserRequest(req)) return;
  throw new PortcullisError('browser_not_allowed');
}

/**
 * Refusals are logged apart from the access line, with their cause (`detail`, never sent): 401, 403 and 429
 * at warn, as an operator watches for them, with the address they came from; faults at error; other
 * refusals at debug.
 */
function answerError(
  services: Services,
  exchange: RequestExchange,
  error: PortcullisError,
  shape: ErrorShape,
): void {
  const { res, requestId } = exchange;
  exchange.error = error.code;
  const { logger } = services;
  const fields = {
    requestId,
    code: error.code,
    status: error.status,
    detail: error.detail,
    clientAddress: exchange.loggedAddress,
  };
  if (error.status >= 500) logger.error('request.failed', fields);
  else if (error.status === 401) logger.warn('request.unauthenticated', fields);
  else if (error.status === 403) logger.warn('request.forbidden', fields);
  else if (error.status === 429) logger.warn('request.limited', fields);
  else logger.debug('request.refused', fields);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader('X-Request-Id', requestId);
  if (shape === 'oauth') sendOAuthError(res, error);
  else if (shape === 'problem') sendProblem(res, requestId, error);
  else sendApiError(res, requestId, error);
}
