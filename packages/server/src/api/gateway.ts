import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { PortcullisError } from '../errors.js';
import type { Exchange } from '../wire/exchange.js';
import type { Admission } from './admission.js';
import { upstreamRequestHeaders } from './forwarded-headers.js';

/** Hop-by-hop response headers (RFC 9110 §7.6.1), never passed back to the client. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface GatewayOptions {
  readonly upstream: URL;
  /** How long the upstream may take to start answering. */
  readonly timeoutMs: number;
}

/**
 * Forwards an authenticated request to the upstream API: method, path, query and body streamed as they
 * came (the path checked by `checkApiTarget`), the client's headers filtered and who the caller is stated
 * as `upstreamRequestHeaders` describes. The answer streams back with its status.
 */
export class Gateway {
  readonly #upstream: URL;
  /** The upstream URL's path, without a trailing slash, which every forwarded path is put under. */
  readonly #pathPrefix: string;
  readonly #timeoutMs: number;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(options: GatewayOptions) {
    this.#upstream = options.upstream;
    this.#pathPrefix = options.upstream.pathname.replace(/\/$/, '');
    this.#timeoutMs = options.timeoutMs;
    const secure = options.upstream.protocol === 'https:';
    this.#agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.#request = secure ? https.request : http.request;
  }

  async forward(
    { req, res, path, query, clientAddress, requestId }: Exchange,
    { principal, limitHeaders }: Admission,
  ): Promise<void> {
    // Before anything is sent: a refused header is answered 400 and the upstream never hears of it.
    const headers = upstreamRequestHeaders(req, {
      principal,
      requestId,
      clientAddress,
      upstreamHost: this.#upstream.host,
    });
    res.setHeader('X-Request-Id', requestId);
    const upstreamRequest = this.#request({
      protocol: this.#upstream.protocol,
      hostname: this.#upstream.hostname,
      port: this.#upstream.port,
      method: req.method,
      path: this.#pathPrefix + path + (query === '' ? '' : `?${query}`),
      headers,
      agent: this.#agent,
      timeout: this.#timeoutMs,
    });
    upstreamRequest.on('timeout', () => upstreamRequest.destroy(new Error('upstream timed out')));
    res.on('close', () => {
      if (!res.writableFinished) upstreamRequest.destroy();
    });

    const response = new Promise<IncomingMessage>((resolve, reject) => {
      upstreamRequest.once('response', resolve);
      upstreamRequest.once('error', reject);
    });
    // Observed below; this keeps an early failure from counting as an unhandled rejection meanwhile.
    response.catch(() => undefined);
    try {
      await pipeline(req, upstreamRequest);
    } catch (error) {
      throw unavailable(error);
    }
    let upstreamResponse: IncomingMessage;
    try {
      upstreamResponse = await response;
    } catch (error) {
      throw unavailable(error);
    }
    res.writeHead(upstreamResponse.statusCode ?? 502, {
      ...responseHeaders(upstreamResponse.headers),
      ...(limitHeaders as OutgoingHttpHeaders | undefined),
    });
    // Once the status is sent, a failure can only cut the response short; pipeline destroys both sides.
    await pipeline(upstreamResponse, res).catch(() => undefined);
  }

  close(): void {
    this.#agent.destroy();
  }
}

function responseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const listedInConnection = connectionTokens(upstream.connection);
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listedInConnection.has(name)) continue;
    headers[name] = value;
  }
  return headers;
}

function connectionTokens(connection: string | undefined): Set<string> {
  if (connection === undefined) return new Set();
  return new Set(connection.split(',').map((token) => token.trim().toLowerCase()));
}

function unavailable(error: unknown): PortcullisError {
  return new PortcullisError('upstream_unavailable', {
    detail: error instanceof Error ? error.message : String(error),
  });
}
