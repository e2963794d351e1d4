import { relative } from 'node:path';
import { Command, Option } from 'commander';
import {
  DEFAULT_FAILED_AUTH_LIMIT_PER_ADDRESS,
  DEFAULT_FAILED_AUTH_LIMIT_PER_CLIENT,
  DEFAULT_RATE_LIMITS,
  DEFAULT_TOKEN_LIMIT,
} from '../config.js';
import type { Environment } from '../keys/environment.js';
import { createClient } from '../keys/management.js';
import { loadOrCreateServerSecret } from '../keys/server-secret.js';
import { createJsonLogger } from '../log.js';
import { createPortcullisServer, type PortcullisServer } from '../server.js';
import { dataDirOption, environmentOption, integerArgument, printLines } from './common.js';

interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
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
  readonly demoClient: boolean;
}

const DEMO_CLIENT_ID = 'demo';

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
    .addOption(dataDirOption())
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
        '--demo-client',
        'when the store has no client, create client "demo" and print how to call it',
      )
        .env('PORTCULLIS_DEMO_CLIENT')
        .default(false),
    )
    .action(serve);
}

async function serve(options: ServeOptions): Promise<void> {
  const server = await createPortcullisServer({
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
    ...(options.tlsCert !== undefined && { tlsCert: options.tlsCert }),
    ...(options.tlsKey !== undefined && { tlsKey: options.tlsKey }),
    ...(options.upstream !== undefined && { upstream: options.upstream }),
    logger: createJsonLogger((line) => process.stdout.write(line)),
  });
  const address = await server.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const baseUrl = `https://${host}:${address.port}`;
  const lines = [`portcullis: listening on ${baseUrl} (${options.env})`, ...certificateLines(server)];
  if (options.demoClient) lines.push(...(await demoClientLines(server, options, baseUrl)));
  printLines(lines);
  stopOnSignals(server);
}

function certificateLines(server: PortcullisServer): string[] {
  const lines = [
    `portcullis: TLS certificate ${server.tls.certPath}`,
    `portcullis: SHA-256 ${server.tls.fingerprint256}`,
  ];
  if (server.tls.created) lines.push('portcullis: created this self-signed certificate on first start');
  if (!server.tls.coversHost) {
    lines.push(
      `portcullis: warning: the certificate does not name ${server.options.host}; clients will refuse it`,
    );
  }
  return lines;
}

async function demoClientLines(
  server: PortcullisServer,
  options: ServeOptions,
  baseUrl: string,
): Promise<string[]> {
  if ((await server.store.listClients()).length > 0) return [];
  const context = {
    store: server.store,
    serverSecret: loadOrCreateServerSecret(options.dataDir),
    environment: options.env,
  };
  const { client, apiKey } = await createClient(context, { clientId: DEMO_CLIENT_ID, name: 'Demo client' });
  const cacert =
    options.tlsCert === undefined ? ` --cacert ${relative(process.cwd(), server.tls.certPath)}` : '';
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
function stopOnSignals(server: PortcullisServer): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`portcullis: ${signal} received, draining\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `portcullis: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
