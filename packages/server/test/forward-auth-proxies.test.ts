import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { startTestServer, type TestClient, type TestServer, waitUntil } from './helpers/harness.js';
import { accepting } from './helpers/processes.js';
import { RecordingUpstream } from './helpers/recording-upstream.js';

/**
 * Real reverse proxies in front of a small upstream, asking Portcullis's `/forward-auth` whether each call
 * may pass: nginx (`auth_request`) and Caddy (`forward_auth`), run from Debian's packages (.ci/run installs
 * them). Their configurations are the ones docs/forward-auth.md gives, with the ports and files filled in.
 * The proxies listen plain HTTP on loopback for the test client; they reach Portcullis over HTTPS, checking
 * its certificate.
 */

const PROXIES = [
  ['nginx', 'nginx'],
  ['caddy', 'caddy'],
] as const;

function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const absent = PROXIES.filter(([command]) => !installed(command));
if (absent.length > 0) {
  const install = `apt-get install ${absent.map(([, debianPackage]) => debianPackage).join(' ')}`;
  // In CI they must be there (.ci/run installs them); elsewhere the file is skipped, saying so.
  if (process.env.CI === 'true') throw new Error(`these tests run nginx and Caddy: ${install}`);
  process.stderr.write(
    `\n*** SKIPPING forward-auth-proxies.test.ts: nginx or Caddy is missing (${install}) ***\n\n`,
  );
}

interface ProxyResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function nginxConfig(dir: string, port: number, portcullis: number, upstream: number, cert: string): string {
  return `worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;

  server {
    listen 127.0.0.1:${port};

    location /v2.01/ {
      auth_request /_forward_auth;
      auth_request_set $fa_client_id $upstream_http_x_client_id;
      auth_request_set $fa_api_key_id $upstream_http_x_api_key_id;
      auth_request_set $fa_auth_method $upstream_http_x_auth_method;
      auth_request_set $fa_auth_scope $upstream_http_x_auth_scope;
      auth_request_set $fa_ratelimit $upstream_http_x_ratelimit;
      auth_request_set $fa_ratelimit_remaining $upstream_http_x_ratelimit_remaining;
      auth_request_set $fa_ratelimit_reset $upstream_http_x_ratelimit_reset;
      auth_request_set $fa_retry_after $upstream_http_retry_after;
      auth_request_set $fa_status $upstream_status;
      error_page 500 = @forward_auth_refused;

      proxy_set_header X-Client-Id $fa_client_id;
      proxy_set_header X-Api-Key-Id $fa_api_key_id;
      proxy_set_header X-Auth-Method $fa_auth_method;
      proxy_set_header X-Auth-Scope $fa_auth_scope;
      proxy_set_header Authorization "";
      add_header X-RateLimit $fa_ratelimit always;
      add_header X-RateLimit-Remaining $fa_ratelimit_remaining always;
      add_header X-RateLimit-Reset $fa_ratelimit_reset always;
      proxy_pass http://127.0.0.1:${upstream};
    }

    location = /_forward_auth {
      internal;
      proxy_pass https://127.0.0.1:${portcullis}/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-Method "";
      proxy_set_header X-Forwarded-Uri "";
      proxy_ssl_trusted_certificate ${cert};
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
    }

    location @forward_auth_refused {
      if ($fa_status = 429) {
        add_header Retry-After $fa_retry_after always;
        add_header X-RateLimit $fa_ratelimit always;
        add_header X-RateLimit-Remaining $fa_ratelimit_remaining always;
        add_header X-RateLimit-Reset $fa_ratelimit_reset always;
        return 429;
      }
      if ($fa_status = 503) {
        add_header Retry-After $fa_retry_after always;
        return 503;
      }
      return 500;
    }
  }
}
`;
}

function caddyfile(port: number, portcullis: number, upstream: number, cert: string): string {
  return `{
	admin off
	auto_https off
}

http://127.0.0.1:${port} {
	forward_auth https://127.0.0.1:${portcullis} {
		uri /forward-auth
		copy_headers X-Client-Id X-Api-Key-Id X-Auth-Method X-Auth-Scope
		transport http {
			tls_trusted_ca_certs ${cert}
			tls_server_name localhost
		}
	}
	request_header -Authorization
	reverse_proxy 127.0.0.1:${upstream}
}
`;
}

let t: TestServer;
let upstream: RecordingUpstream;
let dir: string;
let cert: string;
const children: ChildProcess[] = [];
const ports: Record<string, number> = {};

beforeAll(async () => {
  if (absent.length > 0) return;
  dir = mkdtempSync(join(tmpdir(), 'portcullis-proxies-'));
  upstream = await RecordingUpstream.start();
  t = await startTestServer({ rateLimits: '10/1h' });
  cert = join(dir, 'portcullis-cert.pem');
  writeFileSync(cert, t.server.tls.cert);
  const upstreamPort = Number(new URL(upstream.url).port);

  ports.nginx = await freePort();
  const nginxDir = join(dir, 'nginx');
  mkdirSync(nginxDir);
  writeFileSync(join(nginxDir, 'nginx.conf'), nginxConfig(nginxDir, ports.nginx, t.port, upstreamPort, cert));
  const nginxDirectives = `daemon off; pid ${nginxDir}/nginx.pid; error_log stderr;`;
  children.push(
    spawnProxy('nginx', ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', nginxDirectives]),
  );

  ports.caddy = await freePort();
  const caddyDir = join(dir, 'caddy');
  mkdirSync(caddyDir);
  writeFileSync(join(caddyDir, 'Caddyfile'), caddyfile(ports.caddy, t.port, upstreamPort, cert));
  children.push(
    spawnProxy('caddy', ['run', '--config', join(caddyDir, 'Caddyfile'), '--adapter', 'caddyfile'], {
      HOME: caddyDir,
      XDG_CONFIG_HOME: join(caddyDir, 'config'),
      XDG_DATA_HOME: join(caddyDir, 'data'),
    }),
  );
  await waitUntil(
    async () => (await accepting(ports.nginx as number)) && accepting(ports.caddy as number),
    10_000,
  );
});

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await t?.close();
  await upstream?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A proxy process whose output is kept, to be shown if it stops early. */
function spawnProxy(command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.once('exit', (code) => {
    if (code !== null && code !== 0) process.stderr.write(`${command} exited ${code}:\n${output}\n`);
  });
  return child;
}

function viaProxy(
  proxy: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ProxyResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: ports[proxy], method, path, headers, agent: false },
      (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.once('error', reject);
    req.end();
  });
}

/** What the upstream received last for `path`, as `lower-case name → value`. */
function lastReceived(path: string): Record<string, string> | undefined {
  const request = upstream.received.findLast((received) => received.url === path);
  if (request === undefined) return undefined;
  return Object.fromEntries(request.headerPairs.map(([name, value]) => [name.toLowerCase(), value]));
}

describe.skipIf(absent.length > 0).each(PROXIES.map(([proxy]) => proxy))(
  'forward-auth behind %s',
  (proxy) => {
    let acme: TestClient;
    let other: TestClient;

    beforeAll(async () => {
      acme = await t.createClient(`acme-${proxy}`);
      other = await t.createClient(`other-${proxy}`);
    });

    it('lets an allowed call through, the upstream seeing who called and not the credentials', async () => {
      const path = `/v2.01/${acme.clientId}/users/1?via=${proxy}`;
      const response = await viaProxy(proxy, 'POST', path, { authorization: acme.basic });
      expect(response.status).toBe(200);
      const seen = lastReceived(path);
      expect(seen).toMatchObject({
        'x-client-id': acme.clientId,
        'x-api-key-id': acme.keyId,
        'x-auth-method': 'basic',
        'x-auth-scope': 'read write',
      });
      expect(seen?.authorization).toBeUndefined();
    });

    it('never lets the caller’s own X-Client-Id reach the upstream', async () => {
      const path = `/v2.01/${acme.clientId}/users/spoofed?via=${proxy}`;
      const response = await viaProxy(proxy, 'GET', path, {
        authorization: acme.basic,
        'x-client-id': other.clientId,
        'x-auth-scope': 'admin',
      });
      expect(response.status).toBe(200);
      const pairs = upstream.received.findLast((received) => received.url === path)?.headerPairs ?? [];
      expect(pairs.filter(([name]) => name.toLowerCase() === 'x-client-id')).toEqual([
        [expect.any(String), acme.clientId],
      ]);
      expect(
        pairs.filter(([name]) => name.toLowerCase() === 'x-auth-scope').map(([, value]) => value),
      ).toEqual(['read write']);
    });

    it('denies a call without credentials with 401 and the challenge, before the upstream', async () => {
      const path = `/v2.01/${acme.clientId}/users/anonymous?via=${proxy}`;
      const response = await viaProxy(proxy, 'GET', path);
      expect(response.status).toBe(401);
      expect(String(response.headers['www-authenticate'])).toMatch(/^(Bearer|Basic)/);
      expect(lastReceived(path)).toBeUndefined();
    });

    it('denies another client’s path with 403, whatever the caller claims the original request was', async () => {
      const path = `/v2.01/${other.clientId}/users/1?via=${proxy}`;
      expect((await viaProxy(proxy, 'GET', path, { authorization: acme.basic })).status).toBe(403);
      const claimed = await viaProxy(proxy, 'GET', path, {
        authorization: acme.basic,
        'x-forwarded-method': 'GET',
        'x-forwarded-uri': `/v2.01/${acme.clientId}/users/1`,
        'x-original-method': 'GET',
        'x-original-uri': `/v2.01/${acme.clientId}/users/1`,
      });
      expect(claimed.status).toBe(403);
      expect(lastReceived(path)).toBeUndefined();
    });

    it('answers 429 with Retry-After at the caller once the client’s limit is reached', async () => {
      const limited = await t.createClient(`limited-${proxy}`);
      const path = `/v2.01/${limited.clientId}/users?via=${proxy}`;
      for (let call = 0; call < 10; call++) {
        expect((await viaProxy(proxy, 'GET', path, { authorization: limited.basic })).status).toBe(200);
      }
      const refused = await viaProxy(proxy, 'GET', path, { authorization: limited.basic });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(upstream.received.filter((received) => received.url === path)).toHaveLength(10);
    });

    it('refuses a revoked key within 1 s of the CLI revoking it', async () => {
      const key = await t.createKey(acme.clientId);
      const path = `/v2.01/${acme.clientId}/users/revoked?via=${proxy}`;
      expect((await viaProxy(proxy, 'GET', path, { authorization: key.basic })).status).toBe(200);
      const revoked = await runCli([
        'keys',
        'revoke',
        acme.clientId,
        key.keyId,
        ...t.cliFlags({ announce: true }),
      ]);
      expect(revoked.code).toBe(0);
      await waitUntil(
        async () => (await viaProxy(proxy, 'GET', path, { authorization: key.basic })).status === 401,
        1000,
      );
    });
  },
);
