import { createHash } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestClient, type TestServer } from './helpers/harness.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodySha256: string;
  bodyLength: number;
}

let upstream: http.Server;
let upstreamPort: number;
const seen: Seen[] = [];
let t: TestServer;
let acme: TestClient;

beforeAll(async () => {
  // A small upstream API: it echoes what it received, and answers big or failing when asked to.
  upstream = http.createServer((req, res) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
    });
    req.on('end', () => {
      const record = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodySha256: hash.digest('hex'),
        bodyLength: length,
      };
      seen.push(record);
      if (req.url?.includes('/big')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'yes' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(64 * 1024, i));
        res.end();
        return;
      }
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': 'yes' });
      res.end(JSON.stringify(record));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
  t = await startTestServer({ upstream: `http://127.0.0.1:${upstreamPort}` });
  acme = await t.createClient('acme');
});

afterAll(async () => {
  await t.close();
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

describe('gateway to the upstream API', () => {
  it('forwards method, path and query, and returns the upstream status, headers and body', async () => {
    const response = await t.request({
      method: 'POST',
      path: '/v2.01/acme/users/natural?status=201&x=1',
      headers: { authorization: acme.basic, 'content-type': 'application/json' },
      body: '{"FirstName":"Ada"}',
    });
    expect(response.status).toBe(201);
    expect(response.headers['x-upstream']).toBe('yes');
    // Portcullis counts the call and says so, as on every API response.
    expect(String(response.headers['x-ratelimit']).split(',')).toHaveLength(4);
    const echoed = response.json<Seen>();
    expect(echoed.method).toBe('POST');
    expect(echoed.url).toBe('/v2.01/acme/users/natural?status=201&x=1');
    expect(echoed.bodySha256).toBe(createHash('sha256').update('{"FirstName":"Ada"}').digest('hex'));
  });

  it('removes the credentials and states who called, for Basic and for Bearer', async () => {
    const token = await t.token(acme);
    for (const [authorization, method] of [
      [acme.basic, 'basic'],
      [`Bearer ${token}`, 'bearer'],
    ] as const) {
      const response = await t.request({ path: '/v2.01/acme/wallets', headers: { authorization } });
      const { headers } = response.json<Seen>();
      expect(headers.authorization).toBeUndefined();
      expect(headers['x-client-id']).toBe('acme');
      expect(headers['x-api-key-id']).toBe(acme.keyId);
      expect(headers['x-auth-method']).toBe(method);
      expect(headers['x-forwarded-proto']).toBe('https');
      expect(headers['x-request-id']).toBe(response.headers['x-request-id']);
    }
  });

  it('drops identity headers sent by the client', async () => {
    const response = await t.request({
      path: '/v2.01/acme/wallets',
      headers: {
        authorization: acme.basic,
        'x-client-id': 'globex',
        'X-Api-Key-Id': 'key_forged',
        'x-auth-method': 'bearer',
      },
    });
    const { headers } = response.json<Seen>();
    expect(headers['x-client-id']).toBe('acme');
    expect(headers['x-api-key-id']).toBe(acme.keyId);
    expect(headers['x-auth-method']).toBe('basic');
  });

  it('streams large bodies both ways', async () => {
    const upload = Buffer.alloc(3 * 1024 * 1024, 7);
    const response = await t.request({
      method: 'PUT',
      path: '/v2.01/acme/documents/1',
      headers: { authorization: acme.basic, 'content-type': 'application/octet-stream' },
      body: upload,
    });
    const echoed = response.json<Seen>();
    expect(echoed.bodyLength).toBe(upload.length);
    expect(echoed.bodySha256).toBe(createHash('sha256').update(upload).digest('hex'));

    const download = await t.request({ path: '/v2.01/acme/big', headers: { authorization: acme.basic } });
    expect(download.status).toBe(200);
    expect(download.body.length).toBe(64 * 64 * 1024);
    expect(download.body.at(-1)).toBe(63);
  });

  it('forwards nothing for a request that fails authentication or targets another client', async () => {
    const before = seen.length;
    const unauthenticated = await t.request({ path: '/v2.01/acme/users' });
    expect(unauthenticated.status).toBe(401);
    const otherClient = await t.request({
      path: '/v2.01/globex/users',
      headers: { authorization: acme.basic },
    });
    expect(otherClient.status).toBe(403);
    expect(seen.length).toBe(before);
  });

  it('502 upstream_unavailable in MANGOPAY shape when the upstream is down', async () => {
    const down = await startTestServer({ upstream: 'http://127.0.0.1:9' });
    try {
      const client = await down.createClient('acme');
      const response = await down.request({
        path: '/v2.01/acme/users',
        headers: { authorization: client.basic },
      });
      expect(response.status).toBe(502);
      expect(response.json().Type).toBe('upstream_unavailable');
    } finally {
      await down.close();
    }
  });
});
