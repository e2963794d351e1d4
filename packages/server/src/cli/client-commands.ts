import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FetchFunction, PortcullisClient } from '@portcullis/sdk';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Agent, fetch as undiciFetch } from 'undici';
import { SELF_SIGNED_CERT } from '../tls/certificate.js';
import { dataDirOption, jsonOption, printJson, printLines } from './common.js';

/** Options of the commands that call an API as a client would, through the SDK. */
interface ClientCommandOptions {
  readonly baseUrl: string;
  readonly clientId?: string;
  readonly apiKey?: string;
  readonly caFile?: string;
  readonly dataDir: string;
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
        .default('https://127.0.0.1:8443'),
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
    .addOption(dataDirOption())
    .addOption(jsonOption());
}

export function tokenCommand(): Command {
  return addClientOptions(new Command('token'))
    .description('print an access token, for scripts')
    .action(async (options: ClientCommandOptions) => {
      const token = await sdkClient(options, 'oauth').getAccessToken();
      if (options.json) printJson({ accessToken: token });
      else printLines([token]);
    });
}

export function callCommand(): Command {
  return addClientOptions(new Command('call'))
    .description('make an authenticated call to /v2.01/{ClientId}/PATH and print the JSON answer')
    .argument('<METHOD>', 'GET, POST, PUT, ...')
    .argument('<PATH>', 'path under /v2.01/{ClientId}/, e.g. clients')
    .option('--data <json>', 'JSON request body', parseJson)
    .option('--basic', 'authenticate with Basic on the call instead of a token', false)
    .action(async (method: string, path: string, options: CallOptions) => {
      const client = sdkClient(options, options.basic ? 'basic' : 'oauth');
      const answer = await client.request(method.toUpperCase(), path, {
        ...(options.data !== undefined && { body: options.data }),
      });
      printJson(answer ?? null);
    });
}

/** What `token` and `call` need, and where each can come from. */
const CREDENTIALS = [
  { field: 'clientId', what: 'ClientId', variable: 'PORTCULLIS_CLIENT_ID', flag: '--client-id' },
  { field: 'apiKey', what: 'API key', variable: 'PORTCULLIS_API_KEY', flag: '--api-key' },
] as const;

function sdkClient(options: ClientCommandOptions, auth: 'oauth' | 'basic'): PortcullisClient {
  const { clientId, apiKey } = options;
  if (clientId === undefined || apiKey === undefined) throw missingCredentials(options);
  const caFile = options.caFile ?? defaultCaFile(options.dataDir, options.baseUrl);
  return new PortcullisClient({
    baseUrl: options.baseUrl,
    clientId,
    apiKey,
    auth,
    ...(caFile !== undefined && { fetch: fetchTrusting(readFileSync(caFile, 'utf8')) }),
  });
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

/** A fetch that trusts only `ca`: for a server with a self-signed certificate. */
function fetchTrusting(ca: string): FetchFunction {
  const dispatcher = new Agent({ connect: { ca } });
  return (input, init) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    }) as unknown as Promise<Response>;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected JSON');
  }
}
