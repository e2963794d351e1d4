import { randomUUID } from 'node:crypto';
import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { PortcullisError, type ResponseHeaders } from '../errors.js';
import type { Principal } from './authenticate-request.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded, in either direction. */
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

/** Set by Portcullis alone: a client's own values are dropped so that the upstream can trust them. */
const IDENTITY_HEADERS = ['x-client-id', 'x-api-key-id', 'x-auth-method'];
const DROPPED_REQUEST_HEADERS = new Set(['authorization', 'host', ...IDENTITY_HEADERS]);

export interface GatewayOptions {
  readonly upstream: URL;
  /** How long the upstream may take to start answering. */
  readonly timeoutMs: number;
}

/**
 * Forwards an authenticated request to the upstream API: method, path, query and body streamed as they
 * came, the client's credentials removed, and who the caller is stated in `X-Client-Id`, `X-Api-Key-Id`
 * and `X-Auth-Method`. The answer streams back with its status.
 */
export class Gateway {
  readonly #upstream: URL;
  readonly #timeoutMs: number;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(options: GatewayOptions) {
    this.#upstream = options.upstream;
    this.#timeoutMs = options.timeoutMs;
    const secure = options.upstream.protocol === 'https:';
    this.#agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.#request = secure ? https.request : http.request;
  }

  async forward(
    principal: Principal,
    req: IncomingMessage,
    res: ServerResponse,
    pathAndQuery: string,
    extraResponseHeaders?: ResponseHeaders,
  ): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const upstreamRequest = this.#request({
      protocol: this.#upstream.protocol,
      hostname: this.#upstream.hostname,
      port: this.#upstream.port,
      method: req.method,
      path: this.#upstream.pathname.replace(/\/$/, '') + pathAndQuery,
      headers: forwardedRequestHeaders(req, principal, requestId),
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
      ...(extraResponseHeaders as OutgoingHttpHeaders | undefined),
    });
    // Once the status is sent, a failure can only cut the response short; pipeline destroys both sides.
    await pipeline(upstreamResponse, res).catch(() => undefined);
  }

  close(): void {
    this.#agent.destroy();
  }
}

function forwardedRequestHeaders(
  req: IncomingMessage,
  principal: Principal,
  requestId: string,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  const listedInConnection = connectionTokens(req.headers.connection);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || DROPPED_REQUEST_HEADERS.has(name)) continue;
    if (listedInConnection.has(name)) continue;
    headers[name] = value;
  }
  const forwardedFor = req.headers['x-forwarded-for'];
  const peer = req.socket.remoteAddress ?? 'unknown';
  headers['x-forwarded-for'] = forwardedFor === undefined ? peer : `${forwardedFor}, ${peer}`;
  headers['x-forwarded-proto'] = 'https';
  headers['x-request-id'] = requestId;
  headers['x-client-id'] = principal.client.clientId;
  headers['x-api-key-id'] = principal.key.keyId;
  headers['x-auth-method'] = principal.method;
  return headers;
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
