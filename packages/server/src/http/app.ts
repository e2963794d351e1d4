import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PortcullisError, toPortcullisError } from '../errors.js';
import type { RequestHandler } from '../net/listener.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { comesFromBrowser } from '../wire/request.js';
import { sendApiError, sendOAuthError } from '../wire/respond.js';
import type { ErrorShape, RouteTable } from './routes.js';

/**
 * Serves every HTTPS request of one listener from its route table. Errors end here, in the shape of the
 * route (MANGOPAY's when no route matched), each with a request id in the body, in `X-Request-Id` and in
 * the log line. Successful built-in answers carry no request id: minting one costs time on the hot path
 * and nothing refers to it.
 */
export function createRequestHandler(services: Services, table: RouteTable): RequestHandler {
  return (req, res) => {
    const url = req.url ?? '';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const query = queryStart === -1 ? '' : url.slice(queryStart + 1);
    const exchange = new RequestExchange(req, res, path, query, Date.now(), services.addressOf);
    const fixed = table.fixed(path);
    serve(services, table, exchange, fixed).catch((thrown: unknown) =>
      answerError(services, res, toPortcullisError(thrown), fixed?.errors ?? 'mangopay'),
    );
  };
}

class RequestExchange implements Exchange {
  readonly #addressOf: Services['addressOf'];
  #clientAddress: string | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly path: string,
    readonly query: string,
    readonly now: number,
    addressOf: Services['addressOf'],
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
}

async function serve(
  services: Services,
  table: RouteTable,
  exchange: Exchange,
  fixed: ReturnType<RouteTable['fixed']>,
): Promise<void> {
  requireHostHeader(exchange.req);
  refuseBrowsers(exchange.req);
  if (fixed !== undefined) return fixed.handle(services, exchange);
  const { route, pathClientId } = table.api(exchange.path, exchange.query);
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
 * Access-Control-* header.
 */
function refuseBrowsers(req: IncomingMessage): void {
  if (comesFromBrowser(req)) throw new PortcullisError('browser_not_allowed');
}

function answerError(
  services: Services,
  res: ServerResponse,
  error: PortcullisError,
  shape: ErrorShape,
): void {
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
  if (shape === 'oauth') sendOAuthError(res, error);
  else sendApiError(res, requestId, error);
}
