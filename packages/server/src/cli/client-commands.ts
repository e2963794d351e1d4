import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisClient } from '@portcullis/sdk';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SELF_SIGNED_CERT } from '../tls/certificate.js';
import { dataDirOption, jsonOption, printJson, printLines } from './common.js';
import { explained } from './sdk-errors.js';

/** Options of the commands that call an API as a client would, through the SDK. */
interface ClientCommandOptions {
  readonly baseUrl: string;
  readonly clientId?: string;
  readonly apiKey?: string;
  readonly caFile?: string;
  readonly dataDir: string;
}

interface TokenOptions extends ClientCommandOptions {
  readonly json: boolean;
}

interface CallOptions extends ClientCommandOptions {
  readonly data?: unknown;
  readonly basic: boolean;
}

function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--base-url <url>', 'the API to call')
        .env('PORTCULLIS_BASE_URL')
        .default('https://127.0.0.1:8443')
        .argParser(parseBaseUrl),
    )
    .addOption(
      new Option('--client-id <id>', 'ClientId (better: PORTCULLIS_CLIENT_ID)').env('PORTCULLIS_CLIENT_ID'),
    )
    .addOption(
      new Option('--api-key <key>', 'API key (better: PORTCULLIS_API_KEY, kept out of shell history)').env(
        'PORTCULLIS_API_KEY',
      ),
    )
    .addOption(
      new Option(
        '--ca-file <file>',
        "certificate to trust (default: the data directory's, when present)",
      ).env('PORTCULLIS_CA_FILE'),
    )
    .addOption(dataDirOption());
}

export function tokenCommand(): Command {
  return addClientOptions(new Command('token'))
    .description('print an access token, for scripts')
    .addOption(jsonOption())
    .action((options: TokenOptions) =>
      withSdkClient(options, 'oauth', async (client) => {
        const token = await client.getAccessToken();
        if (options.json) printJson({ accessToken: token });
        else printLines([token]);
      }),
    );
}

export function callCommand(): Command {
  return addClientOptions(new Command('call'))
    .description('make an authenticated call to /v2.01/{ClientId}/PATH and print the JSON answer')
    .argument('<METHOD>', 'GET, POST, PUT, ...')
    .argument(
      '<PATH>',
      'path under /v2.01/{ClientId}/, e.g. clients (the full /v2.01/{ClientId}/clients too)',
    )
    .option('--data <json>', 'JSON request body', parseJson)
    .option('--basic', 'authenticate with Basic on the call instead of a token', false)
    .action((method: string, path: string, options: CallOptions) =>
      withSdkClient(options, options.basic ? 'basic' : 'oauth', async (client, clientId) => {
        const answer = await client.request(method.toUpperCase(), underClient(path, clientId), {
          ...(options.data !== undefined && { body: options.data }),
        });
        printJson(answer ?? null);
      }),
    );
}

/**
 * PATH as the SDK takes it, relative to /v2.01/{ClientId}/. A full path is understood when it names the
 * caller's own ClientId, the only one its credentials reach; any other /v2.01/ path is refused with the
 * relative form, since the SDK would put it under the caller's again.
 */
function underClient(path: string, clientId: string): string {
  const full = /^\/?v2\.01\/([^/?]*)\/?(.*)$/.exec(path);
  if (full === null) return path;
  const [, owner, rest] = full;
  if (owner === clientId) return rest ?? '';
  throw new Error(
    `PATH ${path} is outside /v2.01/${clientId}/, the API of --client-id ${clientId}: give the path under it, e.g. "clients"`,
  );
}

/** What `token` and `call` need, and where each can come from. */
const CREDENTIALS = [
  { field: 'clientId', what: 'ClientId', variable: 'PORTCULLIS_CLIENT_ID', flag: '--client-id' },
  { field: 'apiKey', what: 'API key', variable: 'PORTCULLIS_API_KEY', flag: '--api-key' },
] as const;

/**
 * Runs `use` with an SDK client for the given credentials and certificate; the SDK's errors come out in the
 * CLI's words (sdk-errors.ts).
 */
async function withSdkClient(
  options: ClientCommandOptions,
  auth: 'oauth' | 'basic',
  use: (client: PortcullisClient, clientId: string) => Promise<void>,
): Promise<void> {
  const { clientId, apiKey, baseUrl } = options;
  if (clientId === undefined || apiKey === undefined) throw missingCredentials(options);
  const caFile = options.caFile ?? defaultCaFile(options.dataDir, baseUrl);
  const client = new PortcullisClient({
    baseUrl,
    clientId,
    apiKey,
    auth,
    ...(caFile !== undefined && { ca: readCaFile(caFile) }),
  });
  try {
    await use(client, clientId);
  } catch (error) {
    throw explained(error, { baseUrl, caFile });
  }
}

/** Names what is missing and where to give it; a plain Error, which main prints (commander's would not be). */
function missingCredentials(options: ClientCommandOptions): Error {
  const missing = CREDENTIALS.filter((credential) => options[credential.field] === undefined);
  const list = (column: 'what' | 'variable' | 'flag') => missing.map((row) => row[column]).join(' and ');
  return new Error(`no ${list('what')}: set ${list('variable')} (or give ${list('flag')})`);
}

/** The data directory's self-signed certificate, for a server on this machine only. */
function defaultCaFile(dataDir: string, baseUrl: string): string | undefined {
  const host = URL.canParse(baseUrl) ? new URL(baseUrl).hostname : '';
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) return undefined;
  const path = join(dataDir, SELF_SIGNED_CERT);
  return existsSync(path) ? path : undefined;
}

/** The certificate to trust, for the SDK's `ca`; checked here so that the refusal names --ca-file. */
function readCaFile(path: string): string {
  const pem = readFileSync(path, 'utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error(`--ca-file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}

/** Checked here too, so that the refusal names --base-url rather than the SDK's baseUrl. */
function parseBaseUrl(value: string): string {
  if (!URL.canParse(value) || new URL(value).protocol !== 'https:') {
    throw new InvalidArgumentError('expected an https: URL, such as https://127.0.0.1:8443');
  }
  return value;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected JSON');
  }
}
