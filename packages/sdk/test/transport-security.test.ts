import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestClient, TestServer } from '../../server/test/helpers/harness.js';
import {
  InsecureTransportError,
  PortcullisClient,
  type PortcullisClientOptions,
  RedirectError,
} from '../src/index.js';
import { startTrustedServer } from './helpers/server.js';

/** What a server other than the configured one received. */
interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

function tlsOptions(): https.ServerOptions {
  const directory = process.env.PORTCULLIS_TEST_TLS_DIR;
  if (directory === undefined) throw new Error('global-setup.ts did not run');
  return {
    cert: readFileSync(join(directory, 'tls-cert.pem')),
    key: readFileSync(join(directory, 'tls-key.pem')),
  };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function listen<S extends http.Server>(server: S, host: string): Promise<S> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server;
}

async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

function portOf(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}

/** A request handler that records every request and serves a token of its own to anyone who asks. */
function recording(received: Received[]): http.RequestListener {
  return async (req, res) => {
    received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: await readBody(req),
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        access_token: 'attacker-token',
        token_type: 'Bearer',
        expires_in: 3600,
        ClientId: 'acme',
      }),
    );
  };
}

let t: TestServer;
let acme: TestClient;
/** Another origin (same host, other port), with a certificate the SDK trusts: only the redirect is wrong. */
let attacker: https.Server;
const attackerReceived: Received[] = [];
/**
 * The origin the SDK is configured with: a front of the real Portcullis server that answers chosen paths
 * with a redirect (a compromised or misconfigured load balancer) and passes everything else through.
 */
let front: https.Server;
const redirects = new Map<string, { status: number; location: string }>();

beforeAll(async () => {
  t = await startTrustedServer();
  acme = await t.createClient('acme');
  attacker = await listen(https.createServer(tlsOptions(), recording(attackerReceived)), '127.0.0.1');
  front = await listen(
    https.createServer(tlsOptions(), async (req, res) => {
      const body = await readBody(req);
      const redirect = redirects.get(`${req.method} ${new URL(req.url ?? '/', 'https://x').pathname}`);
      if (redirect !== undefined) {
        res.writeHead(redirect.status, { location: redirect.location, 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
      const forwarded: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept']) {
        const value = req.headers[name];
        if (typeof value === 'string') forwarded[name] = value;
      }
      const answer = await fetch(`${t.baseUrl}${req.url}`, {
        method: req.method ?? 'GET',
        headers: forwarded,
        ...(body !== '' && { body }),
      });
      res.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      res.end(await answer.text());
    }),
    '127.0.0.1',
  );
});

afterAll(async () => {
  await close(front);
  await close(attacker);
  await t.close();
});

beforeEach(() => {
  redirects.clear();
  attackerReceived.length = 0;
});

const attackerUrl = (path: string) => `https://127.0.0.1:${portOf(attacker)}${path}`;
const frontUrl = () => `https://127.0.0.1:${portOf(front)}`;

function sdk(options: Partial<PortcullisClientOptions> = {}): PortcullisClient {
  return new PortcullisClient({
    baseUrl: frontUrl(),
    clientId: acme.clientId,
    apiKey: acme.apiKey,
    ...options,
  });
}

async function refusedRedirect(promise: Promise<unknown>, status: number): Promise<void> {
  const error = await promise.then(
    (value) => new Error(`accepted: ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RedirectError);
  expect((error as RedirectError).code).toBe('ERR_REDIRECT');
  expect((error as RedirectError).status).toBe(status);
  expect((error as Error).message).not.toContain(acme.apiKey);
}

describe('redirects on requests that carry credentials are refused (issue 10, finding 10)', () => {
  it('the front passes calls through to the real server when it does not redirect (the setup works)', async () => {
    const answer = await sdk().request<{ ClientId: string }>('GET', 'clients');
    expect(answer.ClientId).toBe('acme');
    expect(attackerReceived).toHaveLength(0);
  });

  it.each([301, 302, 303, 307, 308])(
    'token endpoint answers %i to another origin: RedirectError, the other origin receives nothing and its token is never used',
    async (status) => {
      redirects.set('POST /v2.01/oauth/token', { status, location: attackerUrl('/v2.01/oauth/token') });
      const client = sdk();
      await refusedRedirect(client.getAccessToken(), status);
      await refusedRedirect(client.request('GET', 'clients'), status);
      expect(attackerReceived).toEqual([]);
    },
  );

  it.each([
    [302, 'GET', 'oauth'],
    [307, 'POST', 'oauth'],
    [308, 'PUT', 'oauth'],
    [307, 'POST', 'basic'],
    [301, 'GET', 'basic'],
  ] as const)(
    'an API call answered %i (%s, auth %s) to another origin: RedirectError; neither credentials nor body reach it',
    async (status, method, auth) => {
      redirects.set(`${method} /v2.01/acme/users`, { status, location: attackerUrl('/v2.01/acme/users') });
      const client = sdk({ auth });
      const call = client.request(method, 'users', method === 'GET' ? {} : { body: { FirstName: 'Ada' } });
      await refusedRedirect(call, status);
      expect(attackerReceived).toEqual([]);
    },
  );

  it('client.fetch refuses a redirect even when its caller asks to follow them', async () => {
    redirects.set('GET /v2.01/acme/users', { status: 307, location: attackerUrl('/v2.01/acme/users') });
    await refusedRedirect(sdk().fetch('/v2.01/acme/users', { redirect: 'follow' }), 307);
    expect(attackerReceived).toEqual([]);
  });

  it('a redirect within the same origin is refused too (it could leave the base URL and resend the key)', async () => {
    redirects.set('POST /v2.01/oauth/token', {
      status: 307,
      location: `${frontUrl()}/elsewhere/oauth/token`,
    });
    await refusedRedirect(sdk().getAccessToken(), 307);
  });
});

describe('dangerouslyAllowInsecureHttp reaches loopback hosts only', () => {
  let plain: http.Server;
  const plainReceived: Received[] = [];

  beforeAll(async () => {
    plain = await listen(http.createServer(recording(plainReceived)), '::');
  });
  afterAll(() => close(plain));

  it.each(['127.0.0.1', '127.0.0.2', 'localhost', '[::1]'])(
    'http://%s with the flag: allowed, the request reaches the server',
    async (host) => {
      plainReceived.length = 0;
      const client = new PortcullisClient({
        baseUrl: `http://${host}:${portOf(plain)}`,
        clientId: 'acme',
        apiKey: 'k',
        dangerouslyAllowInsecureHttp: true,
      });
      expect(await client.getAccessToken()).toBe('attacker-token');
      expect(plainReceived).toHaveLength(1);
    },
  );

  it('http:// to this machine’s own non-loopback address with the flag: refused, nothing sent', async (context) => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry !== undefined && !entry.internal && entry.family === 'IPv4')?.address;
    if (address === undefined) return context.skip('this machine has no non-loopback IPv4 address');
    plainReceived.length = 0;
    const error = await Promise.resolve()
      .then(() =>
        new PortcullisClient({
          baseUrl: `http://${address}:${portOf(plain)}`,
          clientId: 'acme',
          apiKey: 'k',
          dangerouslyAllowInsecureHttp: true,
        }).getAccessToken(),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsecureTransportError);
    expect((error as InsecureTransportError).code).toBe('ERR_INSECURE_TRANSPORT');
    expect((error as Error).message).toMatch(/loopback/);
    expect(plainReceived).toEqual([]);
  });

  it.each([
    'http://192.0.2.10',
    'http://[fd00::2]',
    'http://0.0.0.0',
    'http://[::ffff:127.0.0.1]',
    'http://localhost.example',
    'http://127.0.0.1.nip.io',
    'http://api.sandbox.mangopay.com',
  ])('%s with the flag: ERR_INSECURE_TRANSPORT', (baseUrl) => {
    expect(
      () =>
        new PortcullisClient({ baseUrl, clientId: 'acme', apiKey: 'k', dangerouslyAllowInsecureHttp: true }),
    ).toThrow(InsecureTransportError);
  });
});
