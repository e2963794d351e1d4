// npm run bench: Portcullis against a bare node:https server that answers the same bytes, in one run, on
// the same machine, under the same load generator: wrk, written in C, so that the generator costs far less
// than the servers it drives (a Node generator on the same two cores saturates first and pulls every ratio
// towards 1). Absolute figures on shared machines are noise; the ratios to bare are the result.
//
//   npm run bench -- --duration 10 --connections 32 --rounds 3 --warmup 3 --setups single,workers,postgres
//
// `--log-level warn` turns the access log off, to measure what it costs (default: the server's, info).
//
// `--metrics-cost` measures what recording metrics costs instead: the Bearer and Basic scenarios against
// the same server with its admin listener off (nothing recorded) in place of the bare server, in the same
// rounds. Nothing scrapes during the runs: a scrape every 15 s or so costs a few ms once, not per request.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startListening } from './processes.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    setups: { type: 'string', default: 'single,workers,postgres' },
    'log-level': { type: 'string' },
    'metrics-cost': { type: 'boolean', default: false },
  },
});
const metricsCost = args['metrics-cost'];
/** What each run of Portcullis is compared with: a bare server, or Portcullis recording no metrics. */
const baseline = metricsCost ? 'metrics off' : 'bare';
const chosen = new Set(args.setups.split(','));
const duration = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const warmup = Number(args.warmup);

if (spawnSync('wrk', ['--version']).error !== undefined) {
  process.stderr.write('npm run bench drives load with wrk, which is not installed: apt-get install wrk\n');
  process.exit(1);
}

const CLI = fileURLToPath(new URL('../packages/server/bin/portcullis.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bare-https-server.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
const scriptDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-wrk-'));

function cli(...cliArgs) {
  return JSON.parse(
    execFileSync(process.execPath, [CLI, ...cliArgs, '--data-dir', dataDir, '--json'], { encoding: 'utf8' }),
  );
}

/** One request; resolves with the status, the raw headers in order and the body. */
function httpsExchange(port, { method = 'GET', path, headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method, path, headers, ca: readFileSync(join(dataDir, 'tls-cert.pem')) },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode, rawHeaders: res.rawHeaders, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Headers that Node writes by itself on every answer, the bare server's as well as Portcullis's. */
const WRITTEN_BY_NODE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

/** What the bare server must send back for one request: Portcullis's answer to it, byte for byte. */
function cannedAnswer({ status, rawHeaders, text }) {
  const headers = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!WRITTEN_BY_NODE.has(rawHeaders[i].toLowerCase())) headers.push([rawHeaders[i], rawHeaders[i + 1]]);
  }
  return { status, headers, body: text };
}

/**
 * CPU time (user + system) a process and its children (a primary's workers) have used, in microseconds;
 * Linux only, else undefined.
 */
function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    let total = ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
    for (const child of childPids(pid)) total += cpuMicros(child) ?? 0;
    return total;
  } catch {
    return undefined;
  }
}

function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** A wrk Lua script that sends `request` on every connection. */
function wrkScript(name, { method = 'GET', headers = {}, body }) {
  const lines = [`wrk.method = ${JSON.stringify(method)}`];
  if (body !== undefined) lines.push(`wrk.body = ${JSON.stringify(body)}`);
  for (const [header, value] of Object.entries(headers)) {
    lines.push(`wrk.headers[${JSON.stringify(header)}] = ${JSON.stringify(value)}`);
  }
  const path = join(scriptDir, `${name.replace(/\W+/g, '-')}.lua`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000 };

/** Runs wrk against one server; refuses a run in which anything but 2xx came back. */
function load(title, { child, port }, { path, script }, seconds = duration) {
  const cpuBefore = cpuMicros(child.pid);
  const run = spawnSync(
    'wrk',
    [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--latency',
      '-s',
      script,
      `https://127.0.0.1:${port}${path}`,
    ],
    { encoding: 'utf8' },
  );
  const cpuAfter = cpuMicros(child.pid);
  const output = run.stdout;
  const total = Number(/(\d+) requests in/.exec(output)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(output);
  const refused = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
  const socketErrors = /Socket errors: (.*)/.exec(output)?.[1];
  if (run.status !== 0 || !(total > 0) || refused !== undefined || socketErrors !== undefined) {
    throw new Error(`${title}: wrk failed or saw refusals or socket errors:\n${output}${run.stderr}`);
  }
  return {
    rps,
    p99: Number(p99[1]) * UNIT_MS[p99[2]],
    cpuPerRequest: cpuBefore === undefined ? Number.NaN : (cpuAfter - cpuBefore) / total,
  };
}

// Limits stay on, all four windows and the token limit, so their counting and headers are measured,
// with counts too high ever to refuse the load.
const HIGH = 1_000_000_000;
const LIMITS = [
  '--rate-limits',
  `${HIGH}/15m,${HIGH}/30m,${HIGH}/1h,${HIGH}/24h`,
  '--token-limit',
  `${HIGH}/10m`,
];
const PG_URL = process.env.PORTCULLIS_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.PORTCULLIS_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgSchema = `portcullis_bench_${process.pid}`;

/** The deployments measured, each against a bare server answering its bytes, in the same rounds. */
const setups = [
  { id: 'single', name: '1 worker, SQLite', workers: 1, storeArgs: [] },
  { id: 'workers', name: '2 workers, SQLite', workers: 2, storeArgs: [] },
].filter(({ id }) => chosen.has(id));
if (chosen.has('postgres') && (await servicesUp())) {
  const store = new URL(PG_URL);
  store.searchParams.set('options', `-c search_path=${pgSchema}`);
  setups.push({
    id: 'postgres',
    name: '1 worker, PostgreSQL + Redis',
    workers: 1,
    storeArgs: ['--store', store.toString(), '--cache', REDIS_URL, '--cache-prefix', `${pgSchema}:`],
  });
} else if (chosen.has('postgres')) {
  process.stderr.write(`no PostgreSQL at ${PG_URL} or Redis at ${REDIS_URL}: that setup is left out\n`);
}

const rows = [];
try {
  for (const setup of setups) await measure(setup);
  report();
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scriptDir, { recursive: true, force: true });
  if (setups.some(({ id }) => id === 'postgres')) {
    await psql(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await deleteRedisKeys(`${pgSchema}:*`);
  }
}

/** Portcullis as measured: its admin listener on (and recording metrics) on a free port, or off. */
function startPortcullis({ workers, storeArgs }, adminPort = '0') {
  return startListening([
    CLI,
    'serve',
    '--port',
    '0',
    '--admin-port',
    adminPort,
    '--data-dir',
    dataDir,
    '--workers',
    String(workers),
    ...LIMITS,
    ...storeArgs,
    ...(args['log-level'] === undefined ? [] : ['--log-level', args['log-level']]),
  ]);
}

async function measure(setup) {
  const { storeArgs } = setup;
  const portcullis = await startPortcullis(setup);
  let bare;
  try {
    const { clientId, apiKey } = cli('clients', 'create', `bench-${setup.id}`, ...storeArgs);
    const basic = `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}`;
    const clientsPath = `/v2.01/${clientId}/clients`;
    // A new client reaches every worker through the change feed: wait until it does.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const tokenRequest = {
      method: 'POST',
      path: '/v2.01/oauth/token',
      headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    };
    const issued = await httpsExchange(portcullis.port, tokenRequest);
    const bearer = `Bearer ${JSON.parse(issued.text).access_token}`;
    const requests = {
      'Bearer GET /clients': { path: clientsPath, headers: { Authorization: bearer } },
      'Basic GET /clients': { path: clientsPath, headers: { Authorization: basic } },
      ...(!metricsCost && {
        'token issuance (POST)': tokenRequest,
        // A reverse proxy asking whether a call may pass, as Traefik and Caddy ask (nginx differs only in
        // the headers' names): admission without a body to carry, answered 200 with the identity headers.
        'Basic forward-auth allow': {
          path: '/forward-auth',
          headers: {
            Authorization: basic,
            'X-Forwarded-Method': 'GET',
            'X-Forwarded-Uri': `${clientsPath}/x`,
          },
        },
      }),
    };
    // The bare server answers each request exactly as Portcullis did (status, headers, body; Node adds
    // Date, Connection and Keep-Alive to both), so that a ratio measures Portcullis's work alone.
    const answers = {};
    for (const request of Object.values(requests)) {
      const answer = await httpsExchange(portcullis.port, request);
      answers[`${request.method ?? 'GET'} ${request.path}`] = cannedAnswer(answer);
    }
    bare = metricsCost
      ? await startPortcullis(setup, 'off')
      : await startListening([BARE], {
          BENCH_CERT: join(dataDir, 'tls-cert.pem'),
          BENCH_KEY: join(dataDir, 'tls-key.pem'),
          BENCH_ANSWERS: JSON.stringify(answers),
        });
    // The baseline is only a baseline if it does send the same bytes: checked, not assumed (Portcullis
    // without metrics is the same code, answering alike).
    for (const request of metricsCost ? [] : Object.values(requests)) {
      const expected = JSON.stringify(answers[`${request.method ?? 'GET'} ${request.path}`]);
      const got = JSON.stringify(cannedAnswer(await httpsExchange(bare.port, request)));
      if (got !== expected) throw new Error(`the bare server answers ${got}\ninstead of ${expected}`);
    }
    const scenarios = Object.entries(requests).map(([name, request]) => ({
      name,
      target: { path: request.path, script: wrkScript(`${setup.id} ${name}`, request) },
      runs: [],
    }));
    // Unmeasured runs first, so that no scenario pays for the JIT warming up the code paths it shares.
    for (const { target } of scenarios) {
      load('warm-up', portcullis, target, warmup);
      load('warm-up', bare, target, warmup);
    }
    for (let round = 0; round < rounds; round++) {
      // Portcullis and bare alternate which goes first, so that neither always follows the other.
      for (const scenario of round % 2 === 0 ? scenarios : [...scenarios].reverse()) {
        const pair = round % 2 === 0 ? ['portcullis', 'bare'] : ['bare', 'portcullis'];
        const run = {};
        for (const side of pair) {
          run[side] = load(
            `${setup.name}: ${scenario.name} (${side})`,
            side === 'bare' ? bare : portcullis,
            scenario.target,
          );
        }
        scenario.runs.push(run);
        process.stderr.write(
          `round ${round + 1}: ${setup.name}: ${scenario.name}: ${run.portcullis.rps.toFixed(0)} req/s, ${baseline} ${run.bare.rps.toFixed(0)}\n`,
        );
      }
    }
    for (const scenario of scenarios) rows.push(summary(setup, scenario));
  } finally {
    for (const server of [portcullis, bare]) {
      if (server === undefined) continue;
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Medians over the rounds; each ratio is taken within its round (same machine state), then the median. */
function summary(setup, { name, runs }) {
  const of = (side, field) => runs.map((run) => run[side][field]);
  const ratios = runs.map((run) => run.portcullis.rps / run.bare.rps);
  const range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
  return {
    scenario: `${setup.name}: ${name}`,
    'req/s': Math.round(median(of('portcullis', 'rps'))),
    [`${baseline} req/s`]: Math.round(median(of('bare', 'rps'))),
    'ratio (range)': `${median(ratios).toFixed(2)} (${range})`,
    'p99 ms': median(of('portcullis', 'p99')).toFixed(2),
    [`${baseline} p99 ms`]: median(of('bare', 'p99')).toFixed(2),
    'CPU µs/req': median(of('portcullis', 'cpuPerRequest')).toFixed(1),
    [`${baseline} CPU µs/req`]: median(of('bare', 'cpuPerRequest')).toFixed(1),
  };
}

function report() {
  console.log(
    `\nwrk -t1 -c${connections}, ${duration} s per run, ${rounds} interleaved rounds (medians), node ${process.version}, log level ${args['log-level'] ?? 'default'}, ${metricsCost ? 'metrics on (admin listener on) against off' : 'metrics on (admin listener on)'}`,
  );
  console.table(rows);
}

async function servicesUp() {
  try {
    await psql('SELECT 1');
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
    await psql(`CREATE SCHEMA IF NOT EXISTS ${pgSchema}`);
    return true;
  } catch {
    return false;
  }
}

async function deleteRedisKeys(pattern) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

async function psql(statement) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
