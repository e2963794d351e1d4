import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { ServerOptions } from '../../src/config.js';
import { startTestServer, type TestClient, type TestServer } from './harness.js';
import { type RawResponse, RawTlsConnection } from './raw-tls.js';

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  /** Names and values as they arrived, in order: `[name, value, name, value, …]`. */
  readonly rawHeaders: readonly string[];
  /** The same as `[name, value]` pairs. */
  readonly headerPairs: readonly (readonly [string, string])[];
  readonly body: string;
}

/**
 * A real upstream API for the gateway: a plain HTTP server that records every request it parses (a
 * request smuggled inside another's body shows up as one more) and answers each `200 {"ok":true}`.
 */
export class RecordingUpstream {
  readonly received: ReceivedRequest[] = [];
  readonly #server: http.Server;
  #port = 0;

  private constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          rawHeaders: req.rawHeaders,
          headerPairs: req.rawHeaders.flatMap((name, i) =>
            i % 2 === 0 ? [[name, req.rawHeaders[i + 1] as string] as const] : [],
          ),
          body: Buffer.concat(chunks).toString('latin1'),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
  }

  static async start(): Promise<RecordingUpstream> {
    const upstream = new RecordingUpstream();
    await new Promise<void>((resolve) => upstream.#server.listen(0, '127.0.0.1', resolve));
    upstream.#port = (upstream.#server.address() as AddressInfo).port;
    return upstream;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** `host:port` as the gateway must state it in `Host`. */
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

/** Asserts MANGOPAY's error shape, `{Message, Type, Id, Date, errors}`, with the given status and Type. */
export function expectMangopayError(
  response: { readonly status: number; readonly body: string | Buffer },
  status: number,
  type: string,
): Record<string, unknown> {
  expect(response.status).toBe(status);
  const body = JSON.parse(response.body.toString()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['Date', 'Id', 'Message', 'Type', 'errors']);
  expect(body.Type).toBe(type);
  return body;
}

export interface GatewayUnderTest {
  readonly upstream: RecordingUpstream;
  readonly t: TestServer;
  readonly clients: Readonly<Record<string, TestClient>>;
  /** Writes `request` byte for byte on a TLS connection of its own and resolves with the answer. */
  exchangeRaw(request: string): Promise<RawResponse>;
  close(): Promise<void>;
}

/** A test server whose gateway forwards to a new recording upstream, with a client per ClientId. */
export async function startGateway(
  clientIds: readonly string[],
  options: Omit<ServerOptions, 'logger' | 'port' | 'host' | 'upstream'> = {},
): Promise<GatewayUnderTest> {
  const upstream = await RecordingUpstream.start();
  const t = await startTestServer({ ...options, upstream: upstream.url });
  const clients: Record<string, TestClient> = {};
  for (const clientId of clientIds) clients[clientId] = await t.createClient(clientId);
  return {
    upstream,
    t,
    clients,
    async exchangeRaw(request) {
      const connection = await RawTlsConnection.open(t.port, t.server.tls.cert);
      try {
        return await connection.exchange(request);
      } finally {
        connection.close();
      }
    },
    async close() {
      await t.close();
      await upstream.close();
    },
  };
}
