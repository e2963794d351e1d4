import { randomUUID } from 'node:crypto';
import http, { STATUS_CODES } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PortcullisError } from '../errors.js';
import { apiErrorBody, sendApiError } from '../wire/respond.js';
import type { ConnectionPeers } from './client-address.js';
import { PROXY_HEADER_MAX_BYTES, parseProxyHeader } from './proxy-protocol.js';
import type { TrustedProxies } from './trusted-proxies.js';

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, content type 22). */
const TLS_HANDSHAKE = 0x16;
/** How often close() looks for connections that have become idle. */
const DRAIN_POLL_MS = 25;

/** What answers each HTTPS request (and plain-HTTP ones from trusted TLS-terminating proxies). */
/** Against slow, oversized and piled-up connections; Node answers 408 and 431 itself when they are passed. */
export interface ConnectionLimits {
  readonly maxConnections: number;
  /** Open connections per client address (trusted proxies exempt); more are closed at once. */
  readonly maxConnectionsPerAddress: number;
  /** From accept to a completed TLS handshake (or to the first byte of plain HTTP); slower is closed. */
  readonly handshakeTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
}

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ListenerOptions {
  readonly cert: string;
  readonly key: string;
  readonly handler: RequestHandler;
  /** Called for every plain-HTTP request, which is answered 400 without looking at its credentials. */
  readonly onPlainHttp?: (req: http.IncomingMessage) => void;
  readonly limits: ConnectionLimits;
  /** Load balancers whose plain-HTTP requests are served when they say the client used HTTPS. */
  readonly trustedProxies: TrustedProxies;
  /** Where the source a PROXY protocol header names is recorded for each connection. */
  readonly peers: ConnectionPeers;
  /** `--proxy-protocol`: connections from trusted proxies start with a PROXY protocol header. */
  readonly proxyProtocol: boolean;
  /** The key connections are counted under per address (IPv6 per network prefix). */
  readonly addressKey: (address: string) => string;
}

/** A TLS connection whose handshake has not completed. */
interface Handshake {
  readonly socket: Socket;
  /** The client address, as the PROXY protocol header named it, or the peer's. */
  readonly source: string;
  readonly deadline: NodeJS.Timeout;
}

/**
 * One port, TLS only. The first byte of each connection decides: a TLS handshake goes to the HTTPS
 * server; anything else is answered by a plain HTTP server with 400 "HTTPS required" (as nginx does),
 * and its credentials are never checked. With `--proxy-protocol`, connections from trusted proxies first
 * send a PROXY protocol header, which names the client.
 */
export class TlsOnlyListener {
  readonly #tcp: net.Server;
  readonly #https: https.Server;
  readonly #plain: http.Server;
  readonly #options: ListenerOptions;
  /** Connections not yet secured or handed to the plain server: no HTTP server knows them, so close() must. */
  readonly #unsecured = new Set<Socket>();
  /** TLS handshakes under way, by the connection's endpoints, to find them again when they complete. */
  readonly #handshakes = new Map<string, Handshake>();
  /** Open connections per address key; bounded by maxConnections. */
  readonly #perAddress = new Map<string, number>();

  constructor(options: ListenerOptions) {
    const { limits } = options;
    this.#options = options;
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
      {
        ...httpOptions,
        cert: options.cert,
        key: options.key,
        minVersion: 'TLSv1.2',
        handshakeTimeout: limits.handshakeTimeoutMs,
      },
      options.handler,
    );
    // Node passes a failed or timed-out handshake on to 'clientError', whose answer is HTTP: it cannot be
    // sent before the handshake completes, never flushes, and the connection stayed open for good.
    this.#https.removeAllListeners('tlsClientError');
    this.#https.on('tlsClientError', (_error: Error, socket: Duplex) => socket.destroy());
    this.#https.on('secureConnection', (socket: Socket) => this.#secured(socket));
    this.#plain = http.createServer(httpOptions, (req, res) => {
      if (options.trustedProxies.forwardsHttps(req)) {
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
    this.#tcp = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#accept(socket));
    this.#tcp.maxConnections = limits.maxConnections;
  }

  /**
   * One deadline from accept covers the PROXY header, the first byte and the TLS handshake. Node's own
   * handshake timeout (set too) only starts once the first byte has made a TLS socket of the connection.
   */
  #accept(socket: Socket): void {
    const peer = socket.remoteAddress;
    socket.on('error', () => socket.destroy());
    if (peer === undefined) {
      socket.destroy();
      return;
    }
    this.#unsecured.add(socket);
    const deadline = setTimeout(() => socket.destroy(), this.#options.limits.handshakeTimeoutMs);
    socket.once('close', () => {
      clearTimeout(deadline);
      this.#unsecured.delete(socket);
    });
    const start = (source: string) => {
      if (this.#admit(socket, source)) this.#readFirstByte(socket, source, deadline);
    };
    if (this.#options.proxyProtocol && this.#options.trustedProxies.has(peer)) {
      readProxyHeader(socket, peer, start);
    } else {
      start(peer);
    }
  }

  /**
   * Counts the connection against its client address, or closes it past the cap. Trusted proxies are
   * exempt: every client behind them shares their address (with the PROXY protocol, each is counted as
   * itself).
   */
  #admit(socket: Socket, source: string): boolean {
    if (this.#options.trustedProxies.has(source)) return true;
    const key = this.#options.addressKey(source);
    const open = this.#perAddress.get(key) ?? 0;
    if (open >= this.#options.limits.maxConnectionsPerAddress) {
      socket.destroy();
      return false;
    }
    this.#perAddress.set(key, open + 1);
    socket.once('close', () => {
      const left = (this.#perAddress.get(key) ?? 1) - 1;
      if (left === 0) this.#perAddress.delete(key);
      else this.#perAddress.set(key, left);
    });
    return true;
  }

  #readFirstByte(socket: Socket, source: string, deadline: NodeJS.Timeout): void {
    readUntil(socket, () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return false;
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) {
        const key = endpoints(socket);
        this.#handshakes.set(key, { socket, source, deadline });
        socket.once('close', () => {
          if (this.#handshakes.get(key)?.socket === socket) this.#handshakes.delete(key);
        });
        this.#https.emit('connection', socket);
      } else {
        // From here the plain server's header and request timeouts hold the connection.
        clearTimeout(deadline);
        this.#unsecured.delete(socket);
        if (source !== socket.remoteAddress) this.#options.peers.set(socket, source);
        this.#plain.emit('connection', socket);
      }
      return true;
    });
  }

  /** A completed handshake: the deadline is lifted and the client address passed on to the TLS socket. */
  #secured(socket: Socket): void {
    const key = endpoints(socket);
    const handshake = this.#handshakes.get(key);
    if (handshake === undefined) {
      // Reset while completing: nothing would know its client address.
      socket.destroy();
      return;
    }
    this.#handshakes.delete(key);
    clearTimeout(handshake.deadline);
    this.#unsecured.delete(handshake.socket);
    if (handshake.source !== socket.remoteAddress) this.#options.peers.set(socket, handshake.source);
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
    for (const socket of this.#unsecured) socket.destroy();
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
 * Node's default does, can drop the answer on a TLS connection. Only HTTP errors come here, on plain or
 * secured connections: a TLS handshake that fails or times out is destroyed ('tlsClientError' above).
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

/**
 * Calls `consume` each time `socket` has data to read, until it returns true. A 'readable' listener alone
 * starts reading (also on a socket paused on connect); `resume()` must not be called, since with a
 * 'readable' listener just removed it switches the socket to flowing mode and the next bytes are lost.
 */
function readUntil(socket: Socket, consume: () => boolean): void {
  const attempt = () => {
    if (!consume()) socket.once('readable', attempt);
  };
  if (socket.readableLength > 0) attempt();
  else socket.once('readable', attempt);
}

/**
 * Reads the PROXY protocol header a trusted proxy sends first, then calls `start` with the client address
 * it names (the peer's own for a LOCAL health check). A missing, malformed or oversized header closes the
 * connection: with `--proxy-protocol`, a trusted proxy's connection without one is refused, not served as
 * coming from the proxy.
 */
function readProxyHeader(socket: Socket, peer: string, start: (source: string) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  readUntil(socket, () => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return false;
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const header = parseProxyHeader(buffered.subarray(0, PROXY_HEADER_MAX_BYTES));
    if (header.kind === 'incomplete') return false;
    if (header.kind === 'invalid') {
      socket.destroy();
      return true;
    }
    if (buffered.length > header.length) socket.unshift(buffered.subarray(header.length));
    start(header.kind === 'proxied' ? header.source : peer);
    return true;
  });
}

/** A connection's TCP endpoints, the same on the TCP socket and on the TLS socket that wraps it. */
function endpoints(socket: Socket): string {
  return `${socket.remoteAddress} ${socket.remotePort} ${socket.localAddress} ${socket.localPort}`;
}
