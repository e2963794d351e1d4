import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { reportListening, reportStartFailure, superviseWorkers } from '../cluster/supervisor.js';
import { PrimaryLink } from '../cluster/worker-side.js';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from '../config.js';
import { readServerSecrets, type ServerSecrets } from '../keys/server-secret.js';
import { prepareServerSecrets, secretRecordLine } from '../keys/server-secret-check.js';
import { createStdoutLogger } from '../log.js';
import { integerOption, switchOption } from '../options/option-row.js';
import { SERVER_OPTIONS } from '../options/server-option-table.js';
import { createPortcullisServer } from '../server.js';
import { openStore } from '../store/open-store.js';
import { loadOrCreateTlsMaterial, type TlsMaterial } from '../tls/certificate.js';
import { environmentSecrets } from './common.js';
import { createDemoClient, type DemoClient } from './demo-client.js';
import { flagOf, valuesOf } from './option-flags.js';
import { printStart } from './start-banner.js';
import { stopOnSignals, stopWhenNpmParentEnds } from './stop-on-signals.js';

/** Options of the `serve` command itself, beside every server option. */
const SERVE_ONLY = {
  workers: integerOption({
    flag: '--workers',
    placeholder: '<count>',
    env: 'PORTCULLIS_WORKERS',
    default: availableParallelism(),
    defaultText: 'the number of CPUs',
    min: 1,
    max: 256,
    help: 'worker processes sharing the port',
  }),
  demoClient: switchOption({
    flag: '--demo-client',
    env: 'PORTCULLIS_DEMO_CLIENT',
    help: 'when the store has no client, create client "demo" and print how to call it',
  }),
};

/** Every flag of `serve`, as the README's option table lists them. */
export const SERVE_OPTIONS = { ...SERVER_OPTIONS, ...SERVE_ONLY };

/** How long the primary waits for the store while preparing it, and a worker for its primary. */
const STORE_TIMEOUT_MS = 5000;

export function serveCommand(): Command {
  const command = new Command('serve').description('run the HTTPS server');
  for (const row of Object.values(SERVE_OPTIONS)) command.addOption(flagOf(row));
  return command.action((values: Readonly<Record<string, unknown>>) => serve(values));
}

async function serve(values: Readonly<Record<string, unknown>>): Promise<void> {
  const secrets = environmentSecrets();
  const fromFlags = valuesOf(SERVER_OPTIONS, values);
  // The format is checked here, before the logger is made of it; every other option by resolveServerOptions.
  const logger = createStdoutLogger(SERVER_OPTIONS.logFormat.resolve(fromFlags.logFormat, 'logFormat'));
  const given: ServerOptions = { ...fromFlags, ...(secrets !== undefined && { secrets }), logger };
  const { workers, demoClient } = valuesOf(SERVE_ONLY, values);
  if (cluster.isWorker) return serveAsWorker(given, logger.flush);
  // Bad options end here, once, rather than in every worker.
  const options = resolveServerOptions(given);
  const count = SERVE_ONLY.workers.resolve(workers, 'workers');
  if (count > 1) return serveAsPrimary(options, given.secrets, count, demoClient === true);
  const server = await createPortcullisServer(given);
  const address = await server.listen();
  // Before "listening on" is printed: a supervisor may send SIGTERM as soon as it reads that line.
  stopOnSignals({ close: () => server.close(), announce: true, flushLog: logger.flush });
  stopWhenNpmParentEnds();
  const demo =
    demoClient === true
      ? await createDemoClient(server.store, server.secrets.current, options.environment)
      : undefined;
  printStart(
    options,
    address.port,
    server.adminAddress()?.port,
    server.tls,
    demo,
    secretLines(server.secrets),
  );
}

/** The line that lets operators compare machines' secrets: fingerprints only, never a secret. */
function secretLines(secrets: ServerSecrets, more: readonly string[] = []): string[] {
  const [current, ...older] = secrets.fingerprints();
  const olderText = older.length === 0 ? '' : `; older, still accepted: ${older.join(', ')}`;
  return [`portcullis: server secret ${current} (from ${secrets.source})${olderText}`, ...more];
}

/**
 * `--workers N`: this process prepares what the workers share (schema, server secret and its check
 * against the store, certificate, demo client), then supervises them (cluster/supervisor.ts).
 */
async function serveAsPrimary(
  options: ResolvedServerOptions,
  givenSecrets: readonly string[] | undefined,
  workers: number,
  demoClient: boolean,
): Promise<void> {
  const given = readServerSecrets({
    secrets: givenSecrets,
    secretsFile: options.secretsFile,
    dataDir: options.dataDir,
  });
  const store = await openStore(options.store, options.dataDir, STORE_TIMEOUT_MS);
  let tls: TlsMaterial;
  let demo: DemoClient | undefined;
  let secrets: ServerSecrets;
  let recorded: string | undefined;
  try {
    const prepared = await prepareServerSecrets(store, given, options.dataDir);
    secrets = prepared.secrets;
    recorded = secretRecordLine(prepared.record);
    tls = await loadOrCreateTlsMaterial({
      dataDir: options.dataDir,
      host: options.host,
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
    });
    demo = demoClient ? await createDemoClient(store, secrets.current, options.environment) : undefined;
  } finally {
    await store.close();
  }
  superviseWorkers({
    workers,
    countInPrimary: options.cache === undefined,
    onListening: (port, adminPort) =>
      printStart(options, port, adminPort, tls, demo, [
        ...secretLines(secrets, recorded === undefined ? [] : [`portcullis: ${recorded}`]),
        `portcullis: ${workers} workers`,
      ]),
  });
  stopWhenNpmParentEnds();
}

async function serveAsWorker(options: ServerOptions, flushLog: () => Promise<void>): Promise<void> {
  const link = new PrimaryLink(STORE_TIMEOUT_MS);
  const shared = options.cache === undefined ? { counters: link.counters, changeSignal: link } : {};
  try {
    const server = await createPortcullisServer(options, shared);
    const address = await server.listen();
    stopOnSignals({ close: () => server.close(), announce: false, signals: ['SIGTERM'], flushLog });
    reportListening(address.port, server.adminAddress()?.port);
  } catch (error) {
    reportStartFailure(error);
  }
}
