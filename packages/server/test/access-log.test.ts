import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntrospector } from '../src/admin/introspectors.js';
import { runCli, type ServerProcess, spawnServer } from './helpers/cli.js';
import {
  basicHeader,
  httpsRequest,
  mistyped,
  plainHttpRequest,
  startTestServer,
  type TestClient,
  type TestRequest,
  type TestServer,
  tempDataDir,
  tokenRequest,
  waitUntil,
} from './helpers/harness.js';

/**
 * The access log as an operator meets it: one JSON line per request on the log, with who, what, how it
 * ended and how long it took; the levels and formats chosen with `serve` flags.
 */
type Line = Record<string, unknown>;

const FIELDS = [
  'level',
  'time',
  'pid',
  'event',
  'method',
  'route',
  'status',
  'ms',
  'clientId',
  'keyId',
  'authMethod',
  'requestId',
  'clientAddress',
];

function parsed(lines: readonly string[]): Line[] {
  return lines.flatMap((line) =>
    line
      .split('\n')
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text)),
  );
}

function accessLines(lines: readonly string[]): Line[] {
  return parsed(lines).filter((line) => line.event === 'request');
}

describe('the access line, in process', () => {
  let t: TestServer;
  let acme: TestClient;

  beforeAll(async () => {
    t = await startTestServer({ trustProxy: ['127.0.0.2/32'] });
    acme = await t.createClient('acme');
  });
  afterAll(() => t.close());

  /** Sends `request` and resolves with the one access line it caused, waited for. */
  async function lineOf(request: TestRequest): Promise<{ line: Line; status: number; requestId: unknown }> {
    const before = accessLines(t.logLines).length;
    const response = await t.request(request);
    await waitUntil(async () => accessLines(t.logLines).length > before, 2000, 5);
    const added = accessLines(t.logLines).slice(before);
    expect(added).toHaveLength(1);
    return { line: added[0] as Line, status: response.status, requestId: response.headers['x-request-id'] };
  }

  it('logs a Basic call with every field', async () => {
    const { line, status } = await lineOf({
      path: '/v2.01/acme/clients?x=1',
      headers: { authorization: acme.basic },
    });
    expect(status).toBe(200);
    expect(Object.keys(line)).toEqual(expect.arrayContaining(FIELDS));
    expect(line).toMatchObject({
      level: 'info',
      event: 'request',
      method: 'GET',
      route: 'clients',
      status: 200,
      clientId: 'acme',
      keyId: acme.keyId,
      authMethod: 'basic',
      clientAddress: '127.0.0.1',
    });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(line.ms).toEqual(expect.any(Number));
    expect(line.ms).toBeGreaterThan(0);
    expect(String(line.ms)).toMatch(/^\d+(\.\d{1,2})?$/);
    expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Neither the path nor the query: the route names what was asked.
    expect(JSON.stringify(line)).not.toContain('x=1');
  });

  it('logs a Bearer call and the token request that got its token', async () => {
    const token = await lineOf(tokenRequest(acme.basic));
    expect(token.status).toBe(200);
    expect(token.line).toMatchObject({
      method: 'POST',
      route: 'token',
      status: 200,
      clientId: 'acme',
      keyId: acme.keyId,
      authMethod: 'basic',
    });
    const accessToken = await t.token(acme);
    const bearer = await lineOf({
      path: '/v2.01/acme/clients',
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(bearer.line).toMatchObject({
      route: 'clients',
      status: 200,
      clientId: 'acme',
      keyId: acme.keyId,
      authMethod: 'bearer',
    });
  });

  it('logs a 401 with its reason, under the request id the client was given, beside the warning', async () => {
    const { line, status, requestId } = await lineOf({
      path: '/v2.01/acme/clients',
      headers: { authorization: basicHeader('acme', mistyped(acme.apiKey)) },
    });
    expect(status).toBe(401);
    expect(line).toMatchObject({
      route: 'clients',
      status: 401,
      clientId: null,
      keyId: null,
      authMethod: 'none',
      error: 'invalid_credentials',
      requestId,
      clientAddress: '127.0.0.1',
    });
    const warning = parsed(t.logLines).find(
      (l) => l.event === 'request.unauthenticated' && l.requestId === requestId,
    );
    expect(warning).toMatchObject({ level: 'warn', clientAddress: '127.0.0.1', code: 'invalid_credentials' });
  });

  it('logs a 404 with no route', async () => {
    const { line, status } = await lineOf({ path: '/nothing/here' });
    expect(status).toBe(404);
    expect(line).toMatchObject({ route: 'none', status: 404, authMethod: 'none', error: 'not_found' });
  });

  it('writes a health probe’s line at debug, not at info: balancers ask every few seconds', async () => {
    const before = accessLines(t.logLines).length;
    expect((await t.request({ path: '/healthz' })).status).toBe(200);
    // The next line is the 404's: the probe's was not merely late.
    const { line } = await lineOf({ path: '/nothing/here' });
    expect(line.route).toBe('none');
    expect(accessLines(t.logLines)).toHaveLength(before + 1);
    const debug = await startTestServer({ logLevel: 'debug' });
    try {
      expect((await debug.request({ path: '/readyz' })).status).toBe(200);
      const probed = async () => accessLines(debug.logLines).some((l) => l.route === 'readyz');
      expect(await waitUntil(probed, 2000, 5)).toBeLessThan(2000);
    } finally {
      await debug.close();
    }
  });

  it('logs an introspection by its introspector, with no ClientId', async () => {
    const created = await createIntrospector(t.context, 'resource-server');
    const { line } = await lineOf({
      ...tokenRequest(basicHeader('resource-server', created.apiKey), 'token=nothing'),
      path: '/v2.01/oauth/introspect',
    });
    expect(line).toMatchObject({
      route: 'introspection',
      status: 200,
      clientId: null,
      introspector: 'resource-server',
      authMethod: 'basic',
    });
  });

  it('logs the address a trusted proxy forwarded, on the access line and the refusal line', async () => {
    const before = parsed(t.logLines).length;
    const status = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ port: t.port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => {
        socket.write(
          'GET /v2.01/acme/clients HTTP/1.1\r\nHost: api\r\nConnection: close\r\nX-Forwarded-Proto: https\r\n' +
            `X-Forwarded-For: 192.0.2.10\r\nAuthorization: ${basicHeader('acme', mistyped(acme.apiKey))}\r\n\r\n`,
        );
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      socket.on('close', () => resolve(text.slice(9, 12)));
      socket.on('error', reject);
    });
    expect(status).toBe('401');
    await waitUntil(async () => accessLines(t.logLines.slice(before)).length > 0, 2000, 5);
    const added = parsed(t.logLines.slice(before));
    expect(added.find((l) => l.event === 'request')).toMatchObject({
      status: 401,
      clientAddress: '192.0.2.10',
    });
    expect(added.find((l) => l.event === 'request.unauthenticated')).toMatchObject({
      clientAddress: '192.0.2.10',
    });
  });

  it('names the address a plain-HTTP request came from', async () => {
    await plainHttpRequest(t.port, 'Basic eDp5');
    await waitUntil(async () => parsed(t.logLines).some((l) => l.event === 'request.plain_http'), 2000, 5);
    const line = parsed(t.logLines).find((l) => l.event === 'request.plain_http');
    expect(line).toMatchObject({ level: 'warn', clientAddress: '127.0.0.1', credentialsSent: true });
  });
});

describe('serve: levels and formats', () => {
  let dataDir: string;
  let basic: string;
  let running: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = tempDataDir();
    const created = JSON.parse(
      (await runCli(['clients', 'create', 'acme', '--json', '--data-dir', dataDir])).stdout,
    );
    basic = basicHeader('acme', created.apiKey);
  });
  afterAll(async () => {
    await running?.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Runs `serve` with `flags`, sends one good and one bad call on new connections, stops it; its output. */
  async function serveAndCall(flags: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    running = await spawnServer(['--workers', '1', '--data-dir', dataDir, ...flags], env);
    const agent = new https.Agent({ ca: readFileSync(join(dataDir, 'tls-cert.pem')) });
    const call = (authorization: string) =>
      httpsRequest(running?.port ?? 0, agent, { path: '/v2.01/acme/clients', headers: { authorization } });
    expect((await call(basic)).status).toBe(200);
    expect((await call(basicHeader('acme', 'wrong'))).status).toBe(401);
    expect(await running.stop('SIGTERM')).toBe(0);
    const output = running.output();
    running = undefined;
    return output;
  }

  it('writes JSON lines at info by default, flushed before the process exits', async () => {
    const lines = parsed(output(await serveAndCall([])));
    expect(lines.filter((l) => l.event === 'request').map((l) => l.status)).toEqual([200, 401]);
    expect(lines.some((l) => l.event === 'request.unauthenticated')).toBe(true);
  });

  it('--log-level warn drops the access lines and keeps the warnings', async () => {
    const lines = parsed(output(await serveAndCall(['--log-level', 'warn'])));
    expect(lines.filter((l) => l.event === 'request')).toEqual([]);
    expect(lines.filter((l) => l.event === 'request.unauthenticated')).toHaveLength(1);
  });

  it('PORTCULLIS_LOG_LEVEL=error keeps faults alone: neither access lines nor warnings', async () => {
    const lines = parsed(output(await serveAndCall([], { PORTCULLIS_LOG_LEVEL: 'error' })));
    expect(lines).toEqual([]);
  });

  it('--log-format pretty writes one readable line per event', async () => {
    const text = await serveAndCall(['--log-format', 'pretty']);
    const lines = text.split('\n').filter((line) => /^\d{4}-\d\d-\d\dT/.test(line));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^\S+Z INFO {2}request pid=\d+ method=GET route=clients status=200 ms=[\d.]+ clientId=acme keyId=key_[\w-]+ authMethod=basic requestId=[\w-]+ clientAddress=127\.0\.0\.1$/,
    );
    expect(lines[1]).toMatch(/^\S+Z WARN {2}request\.unauthenticated .*code=invalid_credentials/);
    expect(text).not.toMatch(/^\{/m);
  });

  it.each([
    [['--log-level', 'loud'], {}, /^portcullis: option '--log-level <level>' argument 'loud' is invalid/],
    [['--log-format', 'xml'], {}, /^portcullis: option '--log-format <format>' argument 'xml' is invalid/],
    [[], { PORTCULLIS_LOG_LEVEL: 'loud' }, /--log-level/],
  ])('%j %j is refused with one line naming the flag', async (flags, env, pattern) => {
    const result = await runCli(['serve', '--data-dir', dataDir, '--port', '0', ...flags], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('--workers 2: both workers write access lines', async () => {
    running = await spawnServer(['--workers', '2', '--data-dir', dataDir]);
    const server = running;
    const ca = readFileSync(join(dataDir, 'tls-cert.pem'));
    const pids = () =>
      new Set(
        parsed([server.output()])
          .filter((l) => l.event === 'request')
          .map((l) => l.pid),
      );
    await waitUntil(
      async () => {
        // A new connection each time: the primary hands connections to the workers in turn.
        await httpsRequest(server.port, new https.Agent({ ca }), {
          path: '/v2.01/acme/clients',
          headers: { authorization: basic },
        });
        return pids().size === 2;
      },
      10_000,
      1,
    );
    expect(await server.stop('SIGTERM')).toBe(0);
    running = undefined;
  });
});

/** The process's output without its banner lines. */
function output(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('{'));
}
