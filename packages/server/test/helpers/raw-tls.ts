import { connect, type TLSSocket } from 'node:tls';

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * One TLS connection on which a test writes requests byte for byte, as a recorded client sent them, and
 * reads each answer (framed by Content-Length, which every answer of the server carries).
 */
export class RawTlsConnection {
  readonly #socket: TLSSocket;
  #received = Buffer.alloc(0);
  #onData: (() => void) | undefined;
  #closed = false;

  private constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#onData?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#onData?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number, ca: string | Buffer): Promise<RawTlsConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca }, () => resolve(new RawTlsConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `request` as given and resolves with the next answer. */
  exchange(request: string | Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      this.#onData = () => {
        const response = this.#takeResponse();
        if (response !== undefined) {
          this.#onData = undefined;
          resolve(response);
        } else if (this.#closed) {
          reject(new Error(`connection closed before a whole answer: ${this.#received.toString('latin1')}`));
        }
      };
      this.#socket.write(request);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #takeResponse(): RawResponse | undefined {
    const headEnd = this.#received.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const [statusLine, ...headerLines] = this.#received.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const bodyEnd = headEnd + 4 + Number(headers['content-length'] ?? 0);
    if (this.#received.length < bodyEnd) return undefined;
    const body = this.#received.subarray(headEnd + 4, bodyEnd).toString('utf8');
    this.#received = this.#received.subarray(bodyEnd);
    return { status: Number(statusLine?.split(' ')[1]), headers, body };
  }
}
