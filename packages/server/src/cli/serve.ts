import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { Command, Option } from 'commander';
import { createClient } from '../admin/clients.js';
import { WorkerHub } from '../cluster/primary-side.js';
import { PrimaryLink } from '../cluster/worker-side.js';
import {
  DEFAULT_FAILED_AUTH_LIMIT_PER_ADDRESS,
  DEFAULT_FAILED_AUTH_LIMIT_PER_CLIENT,
  DEFAULT_RATE_LIMITS,
  DEFAULT_TOKEN_LIMIT,
  resolveServerOptions,
} from '../config.js';
import type { Environment } from '../domain/environment.js';
import { loadOrCreateServerSecret } from '../keys/server-secret.js';
import { createJsonLogger } from '../log.js';
import { createPortcullisServer } from '../server.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { loadOrCreateTlsMaterial, type TlsMaterial } from '../tls/certificate.js';
import {
  cacheOption,
  cachePrefixOption,
  dataDirOption,
  environmentOption,
  integerArgument,
  printLines,
  storeOption,
} from './common.js';

interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly workers: number;
  readonly dataDir: string;
  readonly store?: string;
  readonly cache?: string;
  readonly cachePrefix: string;
  readonly env: Environment;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly upstream?: string;
  readonly tokenTtl: number;
  readonly rateLimits: string;
  readonly tokenLimit: string;
  readonly failedAuthLimitPerClient: string;
  readonly failedAuthLimitPerAddress: string;
  readonly revokeExposedKeys: boolean;
  readonly changePollMs: number;
  readonly trustProxy?: string[] | string;
  readonly proxyProtocol: boolean;
  readonly ipv6Prefix: number;
  readonly maxConnectionsPerAddress: number;
  readonly handshakeTimeoutMs: number;
  readonly demoClient: boolean;
}

const DEMO_CLIENT_ID = 'demo';
/** How long the primary waits for the store while preparing it. */
const STORE_TIMEOUT_MS = 5000;

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the HTTPS server')
    .addOption(
      new Option('--port <port>', 'TCP port')
        .env('PORTCULLIS_PORT')
        .default(8443)
        .argParser(integerArgument(0, 65_535)),
    )
    .addOption(
      new Option('--host <host>', 'address to listen on').env('PORTCULLIS_HOST').default('127.0.0.1'),
    )
    .addOption(
      new Option('--workers <count>', 'worker processes sharing the port (default: the number of CPUs)')
        .env('PORTCULLIS_WORKERS')
        .default(availableParallelism())
        .argParser(integerArgument(1, 256)),
    )
    .addOption(dataDirOption())
    .addOption(storeOption())
    .addOption(cacheOption())
    .addOption(cachePrefixOption())
    .addOption(environmentOption())
    .addOption(
      new Option('--tls-cert <file>', 'PEM certificate (default: self-signed, made once)').env(
        'PORTCULLIS_TLS_CERT',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'PEM private key for --tls-cert').env('PORTCULLIS_TLS_KEY'))
    .addOption(
      new Option('--upstream <url>', 'API to forward authenticated requests to').env('PORTCULLIS_UPSTREAM'),
    )
    .addOption(
      new Option('--token-ttl <seconds>', 'access-token lifetime')
        .env('PORTCULLIS_TOKEN_TTL')
        .default(3600)
        .argParser(integerArgument(1, 86_400)),
    )
    .addOption(
      new Option('--rate-limits <windows>', 'API calls per client: COUNT/WINDOW,… or off')
        .env('PORTCULLIS_RATE_LIMITS')
        .default(DEFAULT_RATE_LIMITS),
    )
    .addOption(
      new Option('--token-limit <windows>', 'tokens per client: COUNT/WINDOW,… or off')
        .env('PORTCULLIS_TOKEN_LIMIT')
        .default(DEFAULT_TOKEN_LIMIT),
    )
    .addOption(
      new Option(
        '--failed-auth-limit-per-client <windows>',
        'failed authentications per address and ClientId',
      )
        .env('PORTCULLIS_FAILED_AUTH_LIMIT_PER_CLIENT')
        .default(DEFAULT_FAILED_AUTH_LIMIT_PER_CLIENT),
    )
    .addOption(
      new Option('--failed-auth-limit-per-address <windows>', 'failed authentications per address')
        .env('PORTCULLIS_FAILED_AUTH_LIMIT_PER_ADDRESS')
        .default(DEFAULT_FAILED_AUTH_LIMIT_PER_ADDRESS),
    )
    .addOption(
      new Option(
        '--revoke-exposed-keys',
        'revoke an API key or token at once when it arrives over plain HTTP (it is flagged either way)',
      )
        .env('PORTCULLIS_REVOKE_EXPOSED_KEYS')
        .default(false),
    )
    .addOption(
      new Option(
        '--trust-proxy <cidr...>',
        'load balancers: plain HTTP is served from these addresses only, with X-Forwarded-Proto: https; X-Forwarded-For (or, with --proxy-protocol, the PROXY header) names the client',
      ).env('PORTCULLIS_TRUST_PROXY'),
    )
    .addOption(
      new Option(
        '--proxy-protocol',
        'connections from --trust-proxy addresses start with a PROXY protocol v1/v2 header naming the client',
      )
        .env('PORTCULLIS_PROXY_PROTOCOL')
        .default(false),
    )
    .addOption(
      new Option('--ipv6-prefix <bits>', 'IPv6 clients are counted per network of this many bits')
        .env('PORTCULLIS_IPV6_PREFIX')
        .default(64)
        .argParser(integerArgument(1, 128)),
    )
    .addOption(
      new Option('--max-connections-per-address <count>', 'open connections per client address')
        .env('PORTCULLIS_MAX_CONNECTIONS_PER_ADDRESS')
        .default(256)
        .argParser(integerArgument(1, 1_000_000)),
    )
    .addOption(
      new Option('--handshake-timeout-ms <ms>', 'time from accept to a completed TLS handshake')
        .env('PORTCULLIS_HANDSHAKE_TIMEOUT_MS')
        .default(10_000)
        .argParser(integerArgument(100, 120_000)),
    )
    .addOption(
      new Option('--change-poll-ms <ms>', "how often to read the store's change feed")
        .env('PORTCULLIS_CHANGE_POLL_MS')
        .default(250)
        .argParser(integerArgument(10, 60_000)),
    )
    .addOption(
      new Option(
        '--demo-client',
        'when the store has no client, create client "demo" and print how to call it',
      )
        .env('PORTCULLIS_DEMO_CLIENT')
        .default(false),
    )
    .action(serve);
}

async function serve(options: ServeOptions): Promise<void> {
  if (cluster.isWorker) return serveAsWorker(options);
  if (options.workers > 1) return serveAsPrimary(options);
  const server = await createPortcullisServer(serverOptions(options));
  const address = await server.listen();
  const demo = options.demoClient ? await createDemoClient(server.store, options) : undefined;
  printStart(options, address.port, server.tls, demo);
  stopOnSignals(() => server.close(), true);
}

/**
 * `--workers N`: this process prepares what the workers share (schema, server secret, certificate, demo
 * client), then forks them on one port. It keeps their limit counters unless Redis does (`--cache`), relays
 * change announcements between them, replaces a worker that dies, and stops them all on SIGTERM.
 */
async function serveAsPrimary(options: ServeOptions): Promise<void> {
  // Bad options end here, once, rather than in every worker.
  resolveServerOptions(serverOptions(options));
  const store = await openStore(options.store, options.dataDir, STORE_TIMEOUT_MS);
  let tls: TlsMaterial;
  let demo: DemoClient | undefined;
  try {
    loadOrCreateServerSecret(options.dataDir);
    tls = await loadOrCreateTlsMaterial({
      dataDir: options.dataDir,
      host: options.host,
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
    });
    demo = options.demoClient ? await createDemoClient(store, options) : undefined;
  } finally {
    await store.close();
  }
  const hub = new WorkerHub(options.cache === undefined);
  let stopping = false;
  let announced = false;
  const listening = new Set<number>();
  const fork = () => {
    const worker = cluster.fork();
    hub.add(worker, (message) => {
      if (message.kind !== 'portcullis.listening') return;
      listening.add(worker.id);
      if (announced || listening.size < options.workers) return;
      announced = true;
      printStart(options, message.port, tls, demo, [`portcullis: ${options.workers} workers`]);
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (!announced) {
      // A worker that cannot start would fail again: stop rather than loop.
      process.stderr.write(`portcullis: a worker failed to start (${signal ?? code})\n`);
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    process.stderr.write(
      `portcullis: worker ${worker.process.pid} ended (${signal ?? code}); starting another\n`,
    );
    fork();
  });
  for (let i = 0; i < options.workers; i++) fork();
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`portcullis: ${signal} received, draining\n`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function serveAsWorker(options: ServeOptions): Promise<void> {
  const link = new PrimaryLink(STORE_TIMEOUT_MS);
  const shared = options.cache === undefined ? { counters: link.counters, changeSignal: link } : {};
  const server = await createPortcullisServer(serverOptions(options), shared);
  const address = await server.listen();
  process.send?.({ kind: 'portcullis.listening', port: address.port });
  // A terminal's Ctrl-C reaches every process of the group: the primary turns it into one SIGTERM each,
  // which a worker must not take as a second signal (that would cut its drain short).
  process.on('SIGINT', () => undefined);
  stopOnSignals(() => server.close(), false, ['SIGTERM']);
  // Without its primary a worker could not count limits: it stops rather than serve on alone.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

function serverOptions(options: ServeOptions) {
  return {
    dataDir: options.dataDir,
    host: options.host,
    port: options.port,
    environment: options.env,
    tokenTtlSeconds: options.tokenTtl,
    rateLimits: options.rateLimits,
    tokenLimit: options.tokenLimit,
    failedAuthLimitPerClient: options.failedAuthLimitPerClient,
    failedAuthLimitPerAddress: options.failedAuthLimitPerAddress,
    revokeExposedKeys: options.revokeExposedKeys,
    changePollMs: options.changePollMs,
    // From the environment the list comes as one comma-separated value.
    trustProxy: [options.trustProxy ?? []]
      .flat()
      .flatMap((value) => value.split(','))
      .filter(Boolean),
    proxyProtocol: options.proxyProtocol,
    ipv6Prefix: options.ipv6Prefix,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    cachePrefix: options.cachePrefix,
    ...(options.store !== undefined && { store: options.store }),
    ...(options.cache !== undefined && { cache: options.cache }),
    ...(options.tlsCert !== undefined && { tlsCert: options.tlsCert }),
    ...(options.tlsKey !== undefined && { tlsKey: options.tlsKey }),
    ...(options.upstream !== undefined && { upstream: options.upstream }),
    logger: createJsonLogger((line) => process.stdout.write(line)),
  };
}

function printStart(
  options: ServeOptions,
  port: number,
  tls: TlsMaterial,
  demo: DemoClient | undefined,
  more: readonly string[] = [],
): void {
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const baseUrl = `https://${host}:${port}`;
  printLines([
    `portcullis: listening on ${baseUrl} (${options.env})`,
    ...certificateLines(tls, options.host),
    ...more,
  ]);
  if (demo === undefined) return;
  const lines = demoClientLines(demo, tls, options, baseUrl);
  // The key is shown this once. Standard output also carries the JSON logs, which collectors keep: it
  // gets the key only when it is a terminal; otherwise standard error does, under a warning.
  if (process.stdout.isTTY) {
    printLines(lines);
    return;
  }
  process.stderr.write(
    `${['portcullis: warning: standard output is not a terminal, so the demo API key is written here, to standard error; whatever keeps this stream keeps the key', ...lines].join('\n')}\n`,
  );
}

function certificateLines(tls: TlsMaterial, host: string): string[] {
  const lines = [`portcullis: TLS certificate ${tls.certPath}`, `portcullis: SHA-256 ${tls.fingerprint256}`];
  if (tls.created) lines.push('portcullis: created this self-signed certificate on first start');
  if (!tls.coversHost) {
    lines.push(`portcullis: warning: the certificate does not name ${host}; clients will refuse it`);
  }
  return lines;
}

interface DemoClient {
  readonly clientId: string;
  readonly apiKey: string;
}

/** The demo client, created when the store has no client at all. */
async function createDemoClient(store: Store, options: ServeOptions): Promise<DemoClient | undefined> {
  if ((await store.listClients()).length > 0) return undefined;
  const context = {
    store,
    serverSecret: loadOrCreateServerSecret(options.dataDir),
    environment: options.env,
  };
  const { client, apiKey } = await createClient(context, { clientId: DEMO_CLIENT_ID, name: 'Demo client' });
  return { clientId: client.clientId, apiKey };
}

function demoClientLines(
  client: DemoClient,
  tls: TlsMaterial,
  options: ServeOptions,
  baseUrl: string,
): string[] {
  const apiKey = client.apiKey;
  const cacert = options.tlsCert === undefined ? ` --cacert ${relative(process.cwd(), tls.certPath)}` : '';
  return [
    '',
    `Demo client created. ClientId: ${client.clientId}  API key: ${apiKey}`,
    'The API key is shown only this once. Try it:',
    '',
    `  TOKEN=$(curl -s${cacert} -u '${client.clientId}:${apiKey}' -d grant_type=client_credentials ${baseUrl}/v2.01/oauth/token \\`,
    `    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
    `  curl${cacert} -H "Authorization: Bearer $TOKEN" ${baseUrl}/v2.01/${client.clientId}/clients`,
    `  curl${cacert} -u '${client.clientId}:${apiKey}' ${baseUrl}/v2.01/${client.clientId}/clients`,
    '',
  ];
}

/** SIGTERM or SIGINT drains in-flight requests and exits 0; a second signal exits at once. */
function stopOnSignals(
  close: () => Promise<void>,
  announce: boolean,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    if (announce) process.stdout.write(`portcullis: ${signal} received, draining\n`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `portcullis: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, stop);
}
