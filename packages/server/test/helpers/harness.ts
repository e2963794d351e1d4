import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { onTestFinished, vi } from 'vitest';
import type { AdminContext } from '../../src/admin/admin.js';
import { createAdmin } from '../../src/admin/admins.js';
import { createClient } from '../../src/admin/clients.js';
import { createKey, type NewKeyOptions } from '../../src/admin/keys.js';
import type { ServerOptions } from '../../src/config.js';
import type { AdminRole } from '../../src/domain/records.js';
import { loadOrCreateServerSecret } from '../../src/keys/server-secret.js';
import { createJsonLogger } from '../../src/log.js';
import { createPortcullisServer, type PortcullisServer } from '../../src/server.js';
import { openStore } from '../../src/store/open-store.js';
import { SQLITE_FILE } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { createSharedBackend, type SharedBackend, TEST_BACKEND } from './backends.js';
import { startServerProcess, TEST_WORKERS } from './process-server.js';

export interface TestResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
  /** The body parsed as JSON; throws when it is not JSON. */
  json<T = Record<string, unknown>>(): T;
}

export interface TestRequest {
  readonly method?: string;
  readonly path: string;
  /** Arrays send the header once per value, to test duplicates. */
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>>;
  readonly body?: string | Buffer;
  /** The client's source address, e.g. 127.0.0.2, to act as another machine. */
  readonly localAddress?: string;
}

export interface TestClient {
  readonly clientId: string;
  readonly keyId: string;
  readonly apiKey: string;
  /** `Basic base64(ClientId:ApiKey)`, as MANGOPAY's documentation builds it. */
  readonly basic: string;
}

export interface TestServer {
  readonly server: PortcullisServer;
  readonly baseUrl: string;
  readonly port: number;
  /** The admin listener's port (the harness starts it on a free port unless the test turns it off). */
  readonly adminPort: number | undefined;
  readonly dataDir: string;
  /** Every log line the server wrote. */
  readonly logLines: string[];
  /** The server's store and secret, for management calls as the CLI makes them. */
  readonly context: AdminContext;
  createClient(clientId: string, options?: { tokenTtlSeconds?: number } & NewKeyOptions): Promise<TestClient>;
  createKey(clientId: string, options?: NewKeyOptions): Promise<TestClient>;
  request(request: TestRequest): Promise<TestResponse>;
  /** A request to the admin listener, trusting the server's certificate. */
  adminRequest(request: TestRequest): Promise<TestResponse>;
  /** An admin credential made as `portcullis admins create` makes it; resolves with its token. */
  createAdmin(name: string, role?: AdminRole): Promise<string>;
  /** One request on a connection of its own: with workers, each may land on another process. */
  requestOnNewConnection(request: TestRequest): Promise<TestResponse>;
  /**
   * The flags that point the CLI at this server's store (`--data-dir`, `--store`), and, with `announce`,
   * at its cache, so that a change is announced there as an operator's CLI does.
   */
  cliFlags(options: { readonly announce: boolean }): string[];
  /** Another connection to the same store, e.g. to read it after the server has stopped. */
  openStore(): Promise<Store>;
  /** A token from the token endpoint, asserting success; `body` replaces the default form body. */
  token(client: TestClient, body?: string): Promise<string>;
  /**
   * Moves the server's clock `ms` ahead, for expiry, inside a test. A server in the test process reads
   * the test's clock, which is pinned instead of waited for; worker processes keep their own clocks, so
   * for them the time really passes.
   */
  advanceClock(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** A token request (RFC 6749 §4.4) with `authorization`, form-encoded. */
export function tokenRequest(authorization: string, body = 'grant_type=client_credentials'): TestRequest {
  return {
    method: 'POST',
    path: '/v2.01/oauth/token',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  };
}

export function basicHeader(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
}

/** The key with its last character changed: the same shape, never the same key. */
export function mistyped(apiKey: string): string {
  return apiKey.slice(0, -1) + (apiKey.endsWith('x') ? 'y' : 'x');
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'portcullis-test-'));
}

/** Backends made for a data directory, so that servers started on the same directory share them. */
const backendsByDataDir = new Map<string, SharedBackend>();

/**
 * A real server on a free port, with its own data directory, over real HTTPS. Under
 * PORTCULLIS_TEST_BACKEND=postgres, on a PostgreSQL schema and Redis prefix of its own too (shared by
 * servers started on the same data directory), unless the test names its own store.
 */
export async function startTestServer(
  options: Omit<ServerOptions, 'logger' | 'port' | 'host'> = {},
  dependencies: { readonly store?: Store } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const logLines: string[] = [];
  let backend: SharedBackend | undefined;
  const ownBackend =
    TEST_BACKEND === 'postgres' && dependencies.store === undefined && options.store === undefined;
  if (ownBackend) {
    backend = backendsByDataDir.get(dataDir);
    if (backend === undefined) {
      backend = await createSharedBackend();
      backendsByDataDir.set(dataDir, backend);
    }
  }
  const serverOptions: ServerOptions = {
    changePollMs: 50,
    adminPort: 0,
    ...(backend !== undefined && {
      store: backend.store,
      cache: backend.cache,
      cachePrefix: backend.cachePrefix,
    }),
    ...options,
    dataDir,
  };
  let server: PortcullisServer;
  let address: AddressInfo;
  const inProcess = TEST_WORKERS <= 1 || dependencies.store !== undefined;
  if (!inProcess) {
    ({ server, address } = await startServerProcess({ ...serverOptions, dataDir }, logLines));
  } else {
    server = await createPortcullisServer(
      {
        ...serverOptions,
        port: 0,
        host: '127.0.0.1',
        logger: createJsonLogger((line) => logLines.push(line)),
      },
      dependencies,
    );
    address = await server.listen();
  }
  const context = {
    store: server.store,
    serverSecret: loadOrCreateServerSecret(dataDir),
    environment: server.options.environment,
  };
  const agent = new https.Agent({ ca: server.tls.cert, keepAlive: true });
  const toClient = (clientId: string, keyId: string, apiKey: string): TestClient => ({
    clientId,
    keyId,
    apiKey,
    basic: basicHeader(clientId, apiKey),
  });

  const request = (req: TestRequest) => httpsRequest(address.port, agent, req);
  const adminPort = server.adminAddress()?.port;
  return {
    server,
    baseUrl: `https://127.0.0.1:${address.port}`,
    port: address.port,
    adminPort,
    dataDir,
    logLines,
    context,
    async createClient(clientId, clientOptions = {}) {
      const created = await createClient(
        context,
        { clientId, tokenTtlSeconds: clientOptions.tokenTtlSeconds },
        clientOptions,
      );
      return toClient(clientId, created.key.keyId, created.apiKey);
    },
    async createKey(clientId, keyOptions = {}) {
      const created = await createKey(context, clientId, keyOptions);
      return toClient(clientId, created.key.keyId, created.apiKey);
    },
    request,
    adminRequest(req) {
      if (adminPort === undefined) throw new Error('this test server has no admin listener');
      return httpsRequest(adminPort, agent, req);
    },
    async createAdmin(name, role = 'operator') {
      return (await createAdmin(context, name, role)).token;
    },
    requestOnNewConnection: (req) => requestOnNewConnection(address.port, server.tls.cert, req),
    cliFlags({ announce }) {
      const { store, cache, cachePrefix } = server.options;
      return [
        '--data-dir',
        dataDir,
        ...(store !== undefined ? ['--store', store] : []),
        ...(announce && cache !== undefined ? ['--cache', cache, '--cache-prefix', cachePrefix] : []),
      ];
    },
    async token(client, body = 'grant_type=client_credentials') {
      const response = await request(tokenRequest(client.basic, body));
      if (response.status !== 200)
        throw new Error(`token request failed: ${response.status} ${response.text}`);
      return response.json<{ access_token: string }>().access_token;
    },
    async advanceClock(ms) {
      if (inProcess) advanceTestClock(ms);
      else await new Promise((resolve) => setTimeout(resolve, ms));
    },
    async close() {
      agent.destroy();
      await server.close();
      if (options.dataDir === undefined) {
        rmSync(dataDir, { recursive: true, force: true });
        await backend?.drop();
        backendsByDataDir.delete(dataDir);
      }
    },
    openStore: () => openStore(server.options.store, dataDir, 5000),
  };
}

/**
 * One request on a connection of its own, trusting `ca`: with worker processes, the primary hands
 * connections to the workers in turn, so each may land on another process.
 */
export async function requestOnNewConnection(
  port: number,
  ca: string | Buffer,
  req: TestRequest,
): Promise<TestResponse> {
  const agent = new https.Agent({ ca, keepAlive: false });
  try {
    return await httpsRequest(port, agent, req);
  } finally {
    agent.destroy();
  }
}

export function httpsRequest(port: number, agent: https.Agent, req: TestRequest): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = https.request(
      {
        host: '127.0.0.1',
        port,
        method: req.method ?? 'GET',
        ...(req.localAddress !== undefined && { localAddress: req.localAddress }),
        path: req.path,
        // Node's client frames a body on GET, DELETE or OPTIONS only with an explicit length.
        headers: {
          ...(req.body !== undefined && { 'content-length': Buffer.byteLength(req.body) }),
          ...req.headers,
        } as OutgoingHttpHeaders,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/**
 * Moves the test process's `Date` `ms` ahead and holds it there until the test finishes. Only `Date` is
 * faked: timers, sockets and TLS keep running on real time. Times a server records meanwhile stay ahead
 * afterwards, so tests jump a second or two, on clients of their own.
 */
function advanceTestClock(ms: number): void {
  if (!vi.isFakeTimers()) {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    onTestFinished(() => {
      vi.useRealTimers();
    });
  }
  vi.setSystemTime(Date.now() + ms);
}

/**
 * Polls `check` until it returns true or `timeoutMs` passes; resolves with the time it took. Timed with
 * `performance.now()`, which keeps running while a test holds `Date` (see advanceTestClock).
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  stepMs = 20,
): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return Math.round(performance.now() - started);
}

/**
 * The first log line that contains `text`, waited for: with worker processes, lines arrive through a pipe
 * some time after the answer.
 */
export async function logLineWith(t: TestServer, text: string, timeoutMs = 2000): Promise<string> {
  await waitUntil(async () => t.logLines.some((line) => line.includes(text)), timeoutMs, 10);
  return t.logLines.find((line) => line.includes(text)) as string;
}

/** Sends one request over plain TCP (no TLS) to the TLS port, as a misconfigured client would; resolves with the raw answer. */
export function plainHttpRequest(
  port: number,
  authorization: string,
  path = '/v2.01/acme/clients',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

/** Drops the shared backend of a data directory that tests passed explicitly, once they are done with it. */
export async function dropTestBackend(dataDir: string): Promise<void> {
  await backendsByDataDir.get(dataDir)?.drop();
  backendsByDataDir.delete(dataDir);
}

/** Runs a statement on a test server's database directly, bypassing Portcullis; resolves with its rows. */
export async function runSql(
  t: TestServer,
  statement: string,
  parameters: unknown[] = [],
): Promise<unknown[]> {
  const url = t.server.options.store;
  if (url === undefined) {
    const db = new Database(join(t.dataDir, SQLITE_FILE));
    try {
      const prepared = db.prepare(statement);
      if (prepared.reader) return prepared.all(...parameters);
      prepared.run(...parameters);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(statement, parameters)).rows;
  } finally {
    await client.end();
  }
}
