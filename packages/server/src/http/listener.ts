import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import { PortcullisError } from '../errors.js';
import type { RequestHandler } from './app.js';
import { sendApiError } from './respond.js';

/** The first byte of every TLS connection: a handshake record (RFC 8446 §5.1, content type 22). */
const TLS_HANDSHAKE = 0x16;
/** How long a new connection may stay silent before its first byte. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;

export interface ListenerOptions {
  readonly cert: string;
  readonly key: string;
  readonly handler: RequestHandler;
  /** Called for every plain-HTTP request, which is answered 400 without looking at its credentials. */
  readonly onPlainHttp?: (req: http.IncomingMessage) => void;
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
  #inFlight = 0;
  #drained: (() => void) | undefined;

  constructor(options: ListenerOptions) {
    this.#https = https.createServer(
      { cert: options.cert, key: options.key, minVersion: 'TLSv1.2' },
      (req, res) => {
        this.#inFlight++;
        res.once('close', () => {
          this.#inFlight--;
          if (this.#inFlight === 0) this.#drained?.();
        });
        options.handler(req, res);
      },
    );
    this.#plain = http.createServer((req, res) => {
      options.onPlainHttp?.(req);
      sendApiError(
        res,
        randomUUID(),
        new PortcullisError('https_required', { headers: { Connection: 'close' } }),
      );
    });
    this.#tcp = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#dispatch(socket));
  }

  #dispatch(socket: Socket): void {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const onReadable = () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        socket.once('readable', onReadable);
        return;
      }
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
   * Stops accepting connections, lets in-flight requests finish (up to `graceMs`), then closes every
   * connection that is left.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
    this.#https.closeIdleConnections();
    this.#plain.closeIdleConnections();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#https.closeAllConnections();
    this.#plain.closeAllConnections();
    await closed;
  }
}
