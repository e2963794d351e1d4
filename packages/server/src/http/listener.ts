import { randomUUID } from 'node:crypto';
import http, { STATUS_CODES } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PortcullisError } from '../errors.js';
import type { RequestHandler } from './app.js';
import { apiErrorBody, sendApiError } from './respond.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, content type 22). */
const TLS_HANDSHAKE = 0x16;
/** How long a new connection may stay silent before its first byte. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
/** How often close() looks for connections that have become idle. */
const DRAIN_POLL_MS = 25;

export interface ListenerOptions {
  readonly cert: string;
  readonly key: string;
  readonly handler: RequestHandler;
  /** Called for every plain-HTTP request, which is answered 400 without looking at its credentials. */
  readonly onPlainHttp?: (req: http.IncomingMessage) => void;
  readonly limits: ConnectionLimits;
  /** Load balancers whose plain-HTTP requests are served when they say the client used HTTPS. */
  readonly trustedProxies?: TrustedProxies;
}

/** Against slow and oversized requests; Node answers 408 and 431 itself when they are passed. */
export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

/**
 * One port, TLS only. The first byte of each connection decides: a TLS handshake goes to the HTTPS
 * server; anything else is answered by a plain HTTP server with 400 "HTTPS required" (as nginx does),
 * and its credentials are never checked.
 */
export class TlsOnlyListener {
  readonly #tcp: net.Server;
  readonly #https: https.Server;
  readonly #plain: http.Server;
  /** Connections whose first byte has not arrived yet: no HTTP server knows them, so close() must. */
  readonly #undecided = new Set<Socket>();

  constructor(options: ListenerOptions) {
    const { limits } = options;
    const httpOptions = {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node checks the two timeouts above: often enough to hold them within a second.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      // The router refuses an HTTP/1.1 request without Host itself, in the documented error shape;
      // Node's own refusal is a bare 400.
      requireHostHeader: false,
    };
    this.#https = https.createServer(
      { ...httpOptions, cert: options.cert, key: options.key, minVersion: 'TLSv1.2' },
      options.handler,
    );
    this.#plain = http.createServer(httpOptions, (req, res) => {
      if (options.trustedProxies?.forwardsHttps(req)) {
        options.handler(req, res);
        return;
      }
      options.onPlainHttp?.(req);
      sendApiError(
        res,
        randomUUID(),
        new PortcullisError('https_required', { headers: { Connection: 'close' } }),
      );
    });
    this.#https.on('clientError', answerClientError);
    this.#plain.on('clientError', answerClientError);
    this.#tcp = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#dispatch(socket));
    this.#tcp.maxConnections = limits.maxConnections;
  }

  #dispatch(socket: Socket): void {
    this.#undecided.add(socket);
    socket.once('close', () => this.#undecided.delete(socket));
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const onReadable = () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        socket.once('readable', onReadable);
        return;
      }
      this.#undecided.delete(socket);
      socket.setTimeout(0);
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? this.#https : this.#plain).emit('connection', socket);
    };
    socket.once('readable', onReadable);
    socket.resume();
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, host, () => {
        this.#tcp.off('error', reject);
        // The HTTP servers never listen themselves; 'listening' starts their connection tracking, which
        // enforces headersTimeout and requestTimeout and lets close() find idle and open connections.
        this.#https.emit('listening');
        this.#plain.emit('listening');
        resolve(this.#tcp.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections and closes each open one as soon as it has no request in flight, for up
   * to `graceMs`; then closes whatever is left. Requests in flight are not counted one by one (that would
   * cost a listener on every response): idle connections are closed until none remain.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
    for (const socket of this.#undecided) socket.destroy();
    const deadline = Date.now() + graceMs;
    while ((await this.#openConnections()) > 0 && Date.now() < deadline) {
      this.#https.closeIdleConnections();
      this.#plain.closeIdleConnections();
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
    }
    this.#https.closeAllConnections();
    this.#plain.closeAllConnections();
    await closed;
  }

  #openConnections(): Promise<number> {
    return new Promise((resolve) => this.#tcp.getConnections((error, count) => resolve(error ? 0 : count)));
  }
}

/**
 * Requests Node refuses before any handler runs (headers too large, too slow, unparseable) get the
 * documented error shape, written before the connection is ended gracefully: destroying it at once, as
 * Node's default does, can drop the answer on a TLS connection.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // As Node's own handler does: answer only when no response of this connection has begun, or the
  // peer would read our bytes as part of that response.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const code =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 'header_too_large'
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'request_timeout'
        : 'invalid_request';
  const refusal = new PortcullisError(code);
  const body = JSON.stringify(apiErrorBody(randomUUID(), refusal));
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
