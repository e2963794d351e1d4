import type { OutgoingHttpHeader } from 'node:http';
import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Caller, Exchange } from '../wire/exchange.js';
import { singleHeader } from '../wire/request.js';
import { admitApiCall, identityHeaders } from './admission.js';
import { checkApiTarget } from './upstream-path.js';

/** The forward-auth path; Envoy's `path_prefix` puts the original path after it. */
export const FORWARD_AUTH_PATH = '/forward-auth';

/** RFC 9110 §9.1: a method is a token (§5.6.2). */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Where the original request is described, in the order they are read. */
const SOURCES = [
  { name: 'X-Forwarded-Uri', uri: 'x-forwarded-uri', method: 'x-forwarded-method' }, // Traefik, Caddy
  { name: 'X-Original-URI', uri: 'x-original-uri', method: 'x-original-method' }, // nginx's convention
] as const;

interface OriginalRequest {
  readonly method: string;
  /** Origin-form (RFC 9112 §3.2.1): path and query, undecoded, as the proxy will send them upstream. */
  readonly uri: string;
}

/**
 * `/forward-auth`: a reverse proxy that carries the traffic asks whether the request it describes may pass.
 * The same admission as the gateway, against the original method and URI; the answer has no body. Allowed:
 * exactly 200 with the identity headers (all four, always, so that the proxy's copy replaces any the caller
 * sent) and the limits. Refused: 401 with the challenge, 403, or 429 with `Retry-After`; every other
 * refusal (a malformed or dangerous URI, a duplicated header, …) is answered 403, since nginx's
 * `auth_request` makes a 500 of any status but 2xx, 401 and 403. The message still says what was wrong.
 */
export async function handleForwardAuth(services: Services, exchange: Exchange): Promise<void> {
  try {
    const original = originalRequest(exchange);
    const queryStart = original.uri.indexOf('?');
    const path = queryStart === -1 ? original.uri : original.uri.slice(0, queryStart);
    const query = queryStart === -1 ? '' : original.uri.slice(queryStart + 1);
    // The rules the gateway forwards by: the ClientId read here is the one every upstream reads.
    const target = checkApiTarget(path, query);
    if (target.kind === 'refused') {
      throw new PortcullisError('forbidden', { message: target.reason, detail: 'forward-auth path refused' });
    }
    if (target.kind === 'not_api' || target.clientId === 'oauth') {
      throw new PortcullisError('forbidden', {
        message: 'Forward-auth answers for API calls, under /v2.01/{ClientId}/.',
        detail: 'forward-auth for a path that is not an API call',
      });
    }
    const { principal, limitHeaders } = await admitApiCall(
      services,
      new OriginalExchange(exchange, path, query),
      target.clientId,
      original.method,
    );
    // One list handed to writeHead: Node writes it as it is, where setHeader would check and store each.
    const fields: OutgoingHttpHeader[] = identityHeaders(principal);
    for (const name in limitHeaders) {
      const value = limitHeaders[name] as string | readonly string[];
      fields.push(name, typeof value === 'string' ? value : [...value]);
    }
    fields.push('Content-Length', '0');
    exchange.res.writeHead(200, fields).end();
  } catch (error) {
    throw asProxyStatus(error);
  }
}

/**
 * The original request, from the first source present. Any other source that is also present must say the
 * same: a proxy passes headers it does not set through from the caller, and a caller's own
 * `X-Forwarded-Uri` behind nginx (which states `X-Original-URI`) would otherwise be read first.
 */
function originalRequest(exchange: Exchange): OriginalRequest {
  const described: OriginalRequest[] = [];
  for (const source of SOURCES) {
    const uri = singleHeader(exchange.req, source.uri);
    const method = singleHeader(exchange.req, source.method);
    if (uri === undefined && method === undefined) continue;
    if (uri === undefined || method === undefined) {
      throw new PortcullisError('forbidden', {
        message: `${source.name} and its method header must be sent together.`,
        detail: `forward-auth: half of ${source.name}`,
      });
    }
    described.push({ method, uri });
  }
  const suffix = exchange.path.slice(FORWARD_AUTH_PATH.length);
  if (suffix !== '' && suffix !== '/') {
    const query = exchange.query === '' ? '' : `?${exchange.query}`;
    described.push({ method: exchange.req.method ?? '', uri: suffix + query });
  }
  const [first] = described;
  if (first === undefined) {
    throw new PortcullisError('forbidden', {
      message:
        'Describe the original request: X-Forwarded-Method and X-Forwarded-Uri, X-Original-Method and X-Original-URI, or its path after /forward-auth.',
      detail: 'forward-auth without an original request',
    });
  }
  if (described.some((other) => other.method !== first.method || other.uri !== first.uri)) {
    throw new PortcullisError('forbidden', {
      message: 'The original request is described twice, differently.',
      detail: 'forward-auth: conflicting descriptions of the original request',
    });
  }
  if (!METHOD_TOKEN.test(first.method) || !first.uri.startsWith('/')) {
    throw new PortcullisError('forbidden', {
      message: 'The original method must be a token and the original URI a path (origin-form).',
      detail: 'forward-auth: malformed original request',
    });
  }
  return first;
}

/** Statuses a proxy passes on as they are (2xx aside); anything else 4xx becomes 403 with its message. */
function asProxyStatus(error: unknown): unknown {
  if (!(error instanceof PortcullisError)) return error;
  if (error.status >= 500 || error.status === 401 || error.status === 403 || error.status === 429) {
    return error;
  }
  return new PortcullisError('forbidden', {
    message: error.message,
    detail: `forward-auth, ${error.code}${error.detail === undefined ? '' : `: ${error.detail}`}`,
    headers: error.headers,
  });
}

/**
 * The forward-auth request seen as the original one for admission: its path and query (the access token
 * in a URL is refused there too); the rest, and who authenticated, belong to the forward-auth request.
 */
class OriginalExchange implements Exchange {
  readonly #outer: Exchange;

  constructor(
    outer: Exchange,
    readonly path: string,
    readonly query: string,
  ) {
    this.#outer = outer;
  }

  get req(): Exchange['req'] {
    return this.#outer.req;
  }
  get res(): Exchange['res'] {
    return this.#outer.res;
  }
  get clientAddress(): string {
    return this.#outer.clientAddress;
  }
  get now(): number {
    return this.#outer.now;
  }
  get requestId(): string {
    return this.#outer.requestId;
  }
  get caller(): Caller | undefined {
    return this.#outer.caller;
  }
  set caller(caller: Caller | undefined) {
    this.#outer.caller = caller;
  }
  get route(): string {
    return this.#outer.route;
  }
  set route(route: string) {
    this.#outer.route = route;
  }
}
