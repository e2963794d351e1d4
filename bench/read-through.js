// The cost of a credential miss (issue 12 §1): a miss reads the client from the store again, at most once
// per client per interval. Measures (1) one such read, the store's getClientCredentials, on SQLite and
// PostgreSQL, and (2) the 401 rate of a flood of well-formed wrong keys for one known client, with wrk,
// against `serve` with the failed-authentication limits off, so that every request is a miss.
//
//   npm run build && node bench/read-through.js [--cli OTHER_BUILD/packages/server/bin/portcullis.js]
//
// `--cli` runs part (2) against another build, e.g. one from before the read-through, for comparison.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createClient } from '../packages/server/dist/admin/clients.js';
import { createKey } from '../packages/server/dist/admin/keys.js';
import { generateApiKey } from '../packages/server/dist/keys/api-key.js';
import { loadOrCreateServerSecret } from '../packages/server/dist/keys/server-secret.js';
import { openStore } from '../packages/server/dist/store/open-store.js';
import { startListening } from './processes.js';

const { values: args } = parseArgs({
  options: {
    cli: {
      type: 'string',
      default: fileURLToPath(new URL('../packages/server/bin/portcullis.js', import.meta.url)),
    },
    reads: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
  },
});
/** Clients the second flood spreads its wrong keys over, each in memory first. */
const SPREAD = 1000;
/** ClientIds the third flood spreads over, more than it sends requests, so that nearly all are new. */
const UNSEEN = 100_000;
const PG_URL = process.env.PORTCULLIS_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `portcullis_bench_${process.pid}`;
const pgStore = new URL(PG_URL);
pgStore.searchParams.set('options', `-c search_path=${schema}`);

async function withAdmin(work) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A client with three keys, as a store holds one in use, and SPREAD more with one key each. */
async function prepare(storeUrl, dataDir) {
  const store = await openStore(storeUrl, dataDir, 5000);
  const context = { store, serverSecret: loadOrCreateServerSecret(dataDir), environment: 'sandbox' };
  const { apiKey } = await createClient(context, { clientId: 'flooded' });
  for (let i = 0; i < 2; i++) await createKey(context, 'flooded');
  const spread = [];
  for (let i = 0; i < SPREAD; i++) {
    const clientId = `spread${i}`;
    spread.push({ clientId, apiKey: (await createClient(context, { clientId })).apiKey });
  }
  return { store, apiKey, spread };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function timeReads(name, store) {
  const count = Number(args.reads);
  for (let i = 0; i < 500; i++) await store.getClientCredentials('flooded');
  const times = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await store.getClientCredentials('flooded');
    times.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((sum, t) => sum + t, 0) / count;
  console.log(
    `${name}: one read of a client with 3 keys, ${count} reads: mean ${mean.toFixed(0)} µs, ` +
      `p50 ${percentile(times, 0.5).toFixed(0)} µs, p99 ${percentile(times, 0.99).toFixed(0)} µs`,
  );
}

function serve(dataDir, storeArgs) {
  return startListening([
    args.cli,
    'serve',
    '--port',
    '0',
    '--workers',
    '1',
    '--data-dir',
    dataDir,
    ...storeArgs,
    '--failed-auth-limit-per-client',
    'off',
    '--failed-auth-limit-per-address',
    'off',
  ]);
}

const basic = (clientId, key) => `Basic ${Buffer.from(`${clientId}:${key}`).toString('base64')}`;

/** Runs wrk with `headers`, one chosen at random per request; prints the answer rate. */
function flood(title, port, dataDir, headers) {
  const script = join(dataDir, 'flood.lua');
  writeFileSync(
    script,
    [
      `local headers = { ${headers.map((header) => JSON.stringify(header)).join(', ')} }`,
      'request = function()',
      '  wrk.headers["Authorization"] = headers[math.random(#headers)]',
      '  return wrk.format()',
      'end',
    ].join('\n'),
  );
  const output = execFileSync(
    'wrk',
    [
      '-t',
      '2',
      '-c',
      args.connections,
      '-d',
      `${args.duration}s`,
      '--latency',
      '-s',
      script,
      `https://127.0.0.1:${port}/v2.01/flooded/clients`,
    ],
    { encoding: 'utf8' },
  );
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
  const total = /(\d+) requests in/.exec(output)?.[1];
  const p99 = /99%\s+(\S+)/.exec(output)?.[1];
  console.log(
    `${title}, ${args.connections} connections, ${args.duration} s: ${rate} answers/s (${non2xx} of ${total} refused), p99 ${p99}`,
  );
}

/** One correct call per client first, so that each is in memory, as in production. */
async function warm(port, clients) {
  for (const { clientId, apiKey } of clients) {
    execFileSync('curl', [
      '-sk',
      '-o',
      '/dev/null',
      '-H',
      `Authorization: ${basic(clientId, apiKey)}`,
      `https://127.0.0.1:${port}/v2.01/${clientId}/clients`,
    ]);
  }
}

for (const setup of ['sqlite', 'postgres']) {
  const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-read-through-'));
  const storeUrl = setup === 'postgres' ? pgStore.toString() : undefined;
  if (setup === 'postgres') await withAdmin((client) => client.query(`CREATE SCHEMA ${schema}`));
  try {
    const { store, apiKey, spread } = await prepare(storeUrl, dataDir);
    await timeReads(setup, store);
    await store.close();
    const server = await serve(dataDir, storeUrl === undefined ? [] : ['--store', storeUrl]);
    try {
      await warm(server.port, [{ clientId: 'flooded', apiKey }, ...spread]);
      flood(`${setup}: wrong keys for one client`, server.port, dataDir, [
        basic('flooded', generateApiKey('sandbox')),
      ]);
      flood(
        `${setup}: wrong keys spread over ${SPREAD} clients`,
        server.port,
        dataDir,
        spread.map(({ clientId }) => basic(clientId, generateApiKey('sandbox'))),
      );
      // For reference: what never-seen ClientIds cost with or without the read-through, one read each.
      flood(
        `${setup}: wrong keys for ${UNSEEN} ClientIds that do not exist`,
        server.port,
        dataDir,
        Array.from({ length: UNSEEN }, (_, i) => basic(`unseen${i}`, generateApiKey('sandbox'))),
      );
    } finally {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    }
  } finally {
    if (setup === 'postgres') await withAdmin((client) => client.query(`DROP SCHEMA ${schema} CASCADE`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
