// npm run bench: Portcullis against a bare node:https server, in one run, on the same machine and load
// generator (autocannon). Absolute figures on shared machines are noise; the ratios to bare are the result.
//
//   npm run bench -- --duration 10 --connections 50 --rounds 2 --warmup 3 --setups single,workers,postgres
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    setups: { type: 'string', default: 'single,workers,postgres' },
  },
});
const chosen = new Set(args.setups.split(','));
const duration = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const warmup = Number(args.warmup);

const CLI = fileURLToPath(new URL('../packages/server/bin/portcullis.js', import.meta.url));
const BARE = fileURLToPath(new URL('./bare-https-server.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));

/** Starts a child process and resolves with its port once it prints `listening on https://host:port`. */
function start(args, env = {}) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

function cli(...cliArgs) {
  return JSON.parse(
    execFileSync(process.execPath, [CLI, ...cliArgs, '--data-dir', dataDir, '--json'], { encoding: 'utf8' }),
  );
}

function httpsExchange(port, { body, ...options }) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, ca: readFileSync(join(dataDir, 'tls-cert.pem')), ...options },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function requestToken(port, basic) {
  const { text } = await httpsExchange(port, {
    method: 'POST',
    path: '/v2.01/oauth/token',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return JSON.parse(text).access_token;
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

async function load(title, { child, port }, { path, ...request }, seconds = duration) {
  const cpuBefore = cpuMicros(child.pid);
  const result = await autocannon({
    url: `https://127.0.0.1:${port}${path}`,
    connections,
    duration: seconds,
    tlsOptions: { rejectUnauthorized: false },
    ...request,
  });
  const ok = result['2xx'];
  if (result.non2xx > 0 || result.errors > 0 || ok === 0) {
    throw new Error(
      `${title}: ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodeStats)}) and ${result.errors} errors out of ${result.requests.total}`,
    );
  }
  const cpuAfter = cpuMicros(child.pid);
  const cpuPerRequest = cpuBefore === undefined ? Number.NaN : (cpuAfter - cpuBefore) / result.requests.total;
  return { title, rps: result.requests.average, p99: result.latency.p99, cpuPerRequest };
}

// Limits stay on, so their counting and headers are measured, but high enough never to refuse the load.
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

/** The deployments measured, each against the same bare server in the same rounds. */
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

const results = new Map();
const titles = [];
let bare;
try {
  for (const setup of setups) await measure(setup);
  report();
} finally {
  bare?.child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  if (setups.some(({ id }) => id === 'postgres')) {
    await psql(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await deleteRedisKeys(`${pgSchema}:*`);
  }
}

async function measure(setup) {
  const { storeArgs } = setup;
  const portcullis = await start([
    CLI,
    'serve',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--workers',
    String(setup.workers),
    ...LIMITS,
    ...storeArgs,
  ]);
  try {
    const { clientId, apiKey } = cli('clients', 'create', `bench${titles.length}`, ...storeArgs);
    const basic = `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}`;
    const path = `/v2.01/${clientId}/clients`;
    // A new client reaches every worker through the change feed: wait until it does.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const token = await requestToken(portcullis.port, basic);
    // The baseline answers the same request shapes with the same response sizes (the very body of GET
    // /clients with MANGOPAY's rate-limit headers, and a token response), so that the ratios measure what
    // Portcullis's work costs, not the size of a response or the reading of a request body.
    if (bare === undefined) {
      const sample = await httpsExchange(portcullis.port, { path, headers: { authorization: basic } });
      bare = await start([BARE], {
        BENCH_CERT: join(dataDir, 'tls-cert.pem'),
        BENCH_KEY: join(dataDir, 'tls-key.pem'),
        BENCH_GET_BODY: sample.text.replace(/bench\d+/g, 'bench0'),
        BENCH_GET_HEADERS: JSON.stringify(
          Object.fromEntries(
            Object.entries(sample.headers).filter(([name]) => name.startsWith('x-ratelimit')),
          ),
        ),
        BENCH_POST_BODY: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }),
      });
    }
    const tokenRequest = {
      path: '/v2.01/oauth/token',
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    };
    const bareGet = `bare GET (${setup.name} runs)`;
    const barePost = `bare POST (${setup.name} runs)`;
    // Each scenario: [title, server, request, the bare scenario it is compared with].
    const scenarios = [
      [bareGet, bare, { path: '/' }],
      [barePost, bare, { ...tokenRequest, path: '/' }],
      [
        `${setup.name}: Bearer GET /clients`,
        portcullis,
        { path, headers: { authorization: `Bearer ${token}` } },
        bareGet,
      ],
      [`${setup.name}: Basic GET /clients`, portcullis, { path, headers: { authorization: basic } }, bareGet],
      [`${setup.name}: token issuance (POST)`, portcullis, tokenRequest, barePost],
    ];
    // Unmeasured runs first, so that no scenario pays for the JIT warming up the code paths it shares.
    for (const [title, server, request] of scenarios) await load(title, server, request, warmup);
    for (let round = 0; round < rounds; round++) {
      // Every other round runs in reverse order, so that no scenario always follows the same neighbour.
      const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
      for (const [title, server, request] of order) {
        const measured = await load(title, server, request);
        results.set(title, [...(results.get(title) ?? []), measured]);
        process.stderr.write(`round ${round + 1}: ${title} ${measured.rps.toFixed(0)} req/s\n`);
      }
    }
    titles.push(...scenarios.map(([title, , , baseline]) => [title, baseline]));
  } finally {
    portcullis.child.kill('SIGTERM');
    await new Promise((resolve) => portcullis.child.once('exit', resolve));
  }
}

function report() {
  const mean = (list, field) => list.reduce((sum, r) => sum + r[field], 0) / list.length;
  // Two views of cost: throughput, which on a shared two-core machine is also bounded by the load
  // generator, and server CPU per request (all of its processes), which is not.
  const rows = titles.map(([title, baseline]) => {
    const rps = mean(results.get(title), 'rps');
    const cpu = mean(results.get(title), 'cpuPerRequest');
    const base = baseline === undefined ? undefined : results.get(baseline);
    return {
      scenario: title,
      'req/s': Math.round(rps),
      'p99 ms': mean(results.get(title), 'p99').toFixed(1),
      'server CPU µs/req': cpu.toFixed(0),
      'req/s ratio': base === undefined ? '' : (rps / mean(base, 'rps')).toFixed(2),
      'CPU ratio (bare/this)': base === undefined ? '' : (mean(base, 'cpuPerRequest') / cpu).toFixed(2),
    };
  });
  console.log(
    `\n${connections} connections, ${duration} s per run, ${rounds} rounds, node ${process.version}`,
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
