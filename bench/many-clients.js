// The cost of authentication as the number of clients grows (issue 15): one worker, SQLite, limits raised
// far above the load, N clients made through the admin API, and wrk calling `GET /v2.01/{id}/clients`
// with Basic credentials of a client picked at random per request, so that every request names another
// client and no per-connection memo helps.
//
//   node bench/many-clients.js --clients 100000 [--active 100000] [--duration 10] [--connections 32]
//                              [--warmup sweep|<seconds>] [--runs cold,warm] [--keep DIR] [--cli PATH]
//
// Each run starts a fresh server on the same data, so `cold` is the first seconds after a start (every
// client read from the store on its first call), and `warm` follows a warm-up: by default one pass
// calling each active client once in order (`sweep`), else that many seconds of random calls. Reported
// per run: req/s, p50, p99 and max latency, the server's RSS (from /proc) and its event-loop delay during
// the run (prom-client's `nodejs_eventloop_lag_*_seconds` from the server's own `/metrics`, reset by a
// scrape just before the run and read just after it), and server CPU µs per request.
//
// `--keep DIR` keeps the data directory and the credentials there, and reuses them when they hold at
// least the clients asked for, so that measuring again (or another build, `--cli`) skips the creation.
// `--cli a,b` measures two builds on the same data, their runs interleaved (a, b, b, a, ...).
//
// Also `measureManyClients(options)` for bench/run.js (`--clients N`).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuMicros, LIMITS, stop, WRK_P99, wrkLatencyMs } from './processes.js';

const DEFAULT_CLI = fileURLToPath(new URL('../packages/server/bin/portcullis.js', import.meta.url));
/** Concurrent `POST /admin/v1/clients` while creating clients. */
const CREATE_CONCURRENCY = 32;

/**
 * Creates (or reuses) `clients` clients and measures the runs asked for. Resolves with one result per
 * run and build: `{ cli, run, rps, p50Ms, p99Ms, maxMs, rssMb, cpuPerRequestUs, eventLoop: { p99Ms, maxMs } }`.
 *
 * `serverArgs` go to `serve` only (e.g. `--rate-limits off`); `storeArgs` (`--store …`, `--cache …`) to
 * `serve` and to the CLI that makes the admin token, so that both use the same store. `heapSnapshots`: a
 * directory where the server writes a heap snapshot after each run (`--heapsnapshot-signal`).
 *
 * @param {{clients?: number, active?: number, duration?: number, connections?: number,
 *          warmup?: string, runs?: string[], keep?: string, clis?: string[], rounds?: number,
 *          serverArgs?: string[], storeArgs?: string[], heapSnapshots?: string,
 *          log?: (line: string) => void}} options
 */
export async function measureManyClients(options = {}) {
  const clients = options.clients ?? 1000;
  const active = Math.min(options.active ?? clients, clients);
  const duration = options.duration ?? 10;
  const connections = options.connections ?? 32;
  const warmup = options.warmup ?? 'sweep';
  const runs = options.runs ?? ['cold', 'warm'];
  const clis = options.clis ?? [DEFAULT_CLI];
  const rounds = options.rounds ?? 1;
  const storeArgs = options.storeArgs ?? [];
  const serverArgs = [...storeArgs, ...(options.serverArgs ?? [])];
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  if (spawnSync('wrk', ['--version']).error !== undefined) throw new Error('wrk is not installed');

  const dataDir = options.keep ?? mkdtempSync(join(tmpdir(), 'portcullis-many-'));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const scriptDir = mkdtempSync(join(tmpdir(), 'portcullis-many-wrk-'));
  const results = [];
  try {
    const credentials = await ensureClients(clis[0], dataDir, clients, serverArgs, storeArgs, log);
    // The first `active` of them, shuffled once, so that a sweep does not follow creation order.
    const driven = shuffled(credentials.slice(0, active));
    const randomScript = writeWrkScript(scriptDir, 'random', driven, 'random');
    const sweepScript = writeWrkScript(scriptDir, 'sweep', driven, 'sweep');
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? clis : [...clis].reverse();
      for (const cli of order) {
        const server = await startServer(cli, dataDir, serverArgs, options.heapSnapshots);
        try {
          for (const run of runs) {
            if (run === 'warm') {
              const started = performance.now();
              if (warmup === 'sweep') sweep(server.port, sweepScript, connections);
              else wrk(server.port, randomScript, connections, Number(warmup));
              log(`  warm-up (${warmup}) took ${((performance.now() - started) / 1000).toFixed(1)} s`);
            }
            const result = await measureRun(server, randomScript, connections, duration);
            const row = { cli, round: round + 1, run, clients, active, ...result };
            if (options.heapSnapshots !== undefined)
              row.heapSnapshot = await heapSnapshot(server, options.heapSnapshots);
            results.push(row);
            log(formatRow(row));
          }
        } finally {
          await stop(server);
        }
      }
    }
  } finally {
    rmSync(scriptDir, { recursive: true, force: true });
    if (options.keep === undefined) rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}

function formatRow(r) {
  return (
    `${r.cli === DEFAULT_CLI ? '' : `[${r.cli}] `}round ${r.round} ${r.run}: ${r.clients} clients (${r.active} active): ` +
    `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, max ${r.maxMs.toFixed(1)} ms, ` +
    `RSS ${r.rssMb.toFixed(0)} MB, CPU ${r.cpuPerRequestUs.toFixed(1)} µs/req, event-loop delay p99 ` +
    `${r.eventLoop.p99Ms.toFixed(1)} ms, max ${r.eventLoop.maxMs.toFixed(1)} ms`
  );
}

/** One measured run of random calls: wrk's figures, then the server's memory and event-loop delay. */
async function measureRun(server, script, connections, duration) {
  await scrape(server); // resets the event-loop delay histogram (prom-client resets it on each collect)
  const cpuBefore = cpuMicros(server.child.pid);
  const output = wrk(server.port, script, connections, duration);
  const cpuAfter = cpuMicros(server.child.pid);
  const metrics = await scrape(server);
  const total = Number(/(\d+) requests in/.exec(output)?.[1]);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]),
    p50Ms: wrkLatencyMs(output, /\s50%\s+([\d.]+)(us|ms|s)/),
    p99Ms: wrkLatencyMs(output, WRK_P99),
    maxMs: wrkLatencyMs(output, /Latency(?:\s+[\d.]+(?:us|ms|s)){2}\s+([\d.]+)(us|ms|s)/),
    rssMb: rssKb(server.child.pid) / 1024,
    cpuPerRequestUs: (cpuAfter - cpuBefore) / total,
    eventLoop: {
      p99Ms: metric(metrics, 'nodejs_eventloop_lag_p99_seconds') * 1000,
      maxMs: metric(metrics, 'nodejs_eventloop_lag_max_seconds') * 1000,
    },
  };
}

function metric(text, name) {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text);
  return match === null ? Number.NaN : Number(match[1]);
}

/** Runs wrk; refuses a run in which anything but 2xx came back. */
function wrk(port, script, connections, seconds) {
  const run = spawnSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `https://127.0.0.1:${port}/`],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const output = run.stdout;
  const total = Number(/(\d+) requests in/.exec(output)?.[1]);
  const refused = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
  const socketErrors = /Socket errors: (.*)/.exec(output)?.[1];
  if (run.status !== 0 || !(total > 0) || refused !== undefined || socketErrors !== undefined) {
    throw new Error(`wrk failed or saw refusals or socket errors:\n${output}${run.stderr}`);
  }
  return output;
}

/** Calls every driven client once; wrk exits when done, so it reports nothing to check. */
function sweep(port, script, connections) {
  const run = spawnSync(
    'wrk',
    ['-t1', `-c${connections}`, '-d1h', '-s', script, `https://127.0.0.1:${port}/`],
    {
      stdio: 'ignore',
    },
  );
  if (run.status !== 0) throw new Error(`the warm-up sweep failed: ${run.status ?? run.signal}`);
}

/**
 * A wrk script over the clients' credentials: `random` picks a client per request (`request()` hook);
 * `sweep` calls each once in order, then stops. Requests are formatted once, at start.
 */
function writeWrkScript(dir, name, credentials, mode) {
  // One line per client (`path Authorization`), read at start: a Lua table literal of 100,000 entries
  // is past what LuaJIT compiles.
  const data = join(dir, `${name}-credentials.txt`);
  const lines = credentials.map(
    ({ clientId, apiKey }) =>
      `/v2.01/${clientId}/clients Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}`,
  );
  writeFileSync(data, `${lines.join('\n')}\n`);
  const pick =
    mode === 'random'
      ? 'return requests[math.random(count)]'
      : // Past the last client, wrk exits (a stopped thread would idle until the duration ends).
        'next = next + 1\n  if next > count then os.exit(0) end\n  return requests[next]';
  const script = join(dir, `${name}.lua`);
  writeFileSync(
    script,
    `local requests = {}
local count = 0
local next = 0
function init(args)
  math.randomseed(os.time())
  for line in io.lines(${JSON.stringify(data)}) do
    local path, authorization = line:match("^(%S+) (.+)$")
    count = count + 1
    requests[count] = wrk.format("GET", path, { Host = wrk.headers.Host, Authorization = authorization })
  end
end
function request()
  ${pick}
end
`,
  );
  return script;
}

/**
 * The clients' credentials: read from `credentials.json` in the data directory when it holds enough,
 * else the missing ones created through the admin API with an admin token made by the CLI.
 */
async function ensureClients(cli, dataDir, clients, serverArgs, storeArgs, log) {
  const file = join(dataDir, 'many-clients-credentials.json');
  const credentials = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
  if (credentials.length >= clients) return credentials.slice(0, clients);
  const server = await startServer(cli, dataDir, serverArgs);
  try {
    const admin = JSON.parse(
      execFileSync(
        process.execPath,
        [
          cli,
          'admins',
          'create',
          `bench-${Date.now()}`,
          '--role',
          'operator',
          '--data-dir',
          dataDir,
          ...storeArgs,
          '--json',
        ],
        { encoding: 'utf8' },
      ),
    );
    const agent = new https.Agent({ keepAlive: true, maxSockets: CREATE_CONCURRENCY, ca: server.ca });
    const started = performance.now();
    const from = credentials.length;
    let nextIndex = from;
    let lastReport = started;
    const createOne = async () => {
      while (nextIndex < clients) {
        const index = nextIndex++;
        const clientId = `bench-${index.toString(36).padStart(6, '0')}`;
        const answer = await request(agent, server.adminPort, {
          method: 'POST',
          path: '/admin/v1/clients',
          headers: { Authorization: `Bearer ${admin.token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ clientId, name: `Bench client ${index}` }),
        });
        if (answer.status !== 201) throw new Error(`POST /admin/v1/clients: ${answer.status} ${answer.text}`);
        credentials[index] = { clientId, apiKey: JSON.parse(answer.text).key.apiKey };
        const now = performance.now();
        if (now - lastReport > 10_000) {
          lastReport = now;
          log(
            `  created ${index + 1 - from} clients, ${(((index + 1 - from) * 1000) / (now - started)).toFixed(0)}/s`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, createOne));
    agent.destroy();
    const seconds = (performance.now() - started) / 1000;
    log(
      `created ${clients - from} clients through the admin API in ${seconds.toFixed(1)} s (${((clients - from) / seconds).toFixed(0)}/s)`,
    );
    writeFileSync(file, JSON.stringify(credentials));
    return credentials;
  } finally {
    await stop(server);
  }
}

function request(agent, port, { method, path, headers, body }) {
  return new Promise((resolvePromise, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolvePromise({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function scrape(server) {
  const agent = new https.Agent({ ca: server.ca });
  const answer = await request(agent, server.adminPort, { method: 'GET', path: '/metrics', headers: {} });
  agent.destroy();
  return answer.text;
}

/**
 * `portcullis serve` with one worker (one process) on free ports, its standard output in a file (a pipe
 * nobody reads would stall it); resolves once it prints both listeners.
 */
function startServer(cli, dataDir, serverArgs, snapshotDir) {
  const outDir = mkdtempSync(join(tmpdir(), 'portcullis-many-out-'));
  // PORTCULLIS_BENCH_SERVER_OUTPUT keeps what the server prints (e.g. with NODE_OPTIONS=--trace-gc).
  const kept = process.env.PORTCULLIS_BENCH_SERVER_OUTPUT;
  const fd = openSync(kept ?? join(outDir, 'stdout'), kept === undefined ? 'w+' : 'a+');
  const startAt = kept === undefined ? 0 : statSync(kept).size;
  const child = spawn(
    process.execPath,
    [
      ...(snapshotDir === undefined ? [] : ['--heapsnapshot-signal=SIGUSR2']),
      // E.g. --trace-gc, which NODE_OPTIONS refuses.
      ...(process.env.PORTCULLIS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      cli,
      'serve',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--data-dir',
      dataDir,
      '--workers',
      '1',
      ...LIMITS,
      ...serverArgs,
    ],
    { stdio: ['ignore', fd, 'inherit'], ...(snapshotDir !== undefined && { cwd: snapshotDir }) },
  );
  rmSync(outDir, { recursive: true, force: true });
  const head = Buffer.alloc(8192);
  return new Promise((resolvePromise, reject) => {
    const poll = setInterval(() => {
      const length = readSync(fd, head, 0, head.length, startAt);
      const text = head.toString('utf8', 0, length);
      const port = /listening on https:\/\/[^\s:]+:(\d+)/.exec(text);
      const adminPort = /health on https:\/\/[^\s:]+:(\d+)/.exec(text);
      if (port === null || adminPort === null) return;
      clearInterval(poll);
      closeSync(fd);
      child.off('exit', exited);
      const ca = readFileSync(join(dataDir, 'tls-cert.pem'));
      resolvePromise({ child, port: Number(port[1]), adminPort: Number(adminPort[1]), ca });
    }, 50);
    const exited = (code) => {
      clearInterval(poll);
      closeSync(fd);
      reject(new Error(`${cli} serve exited with ${code}`));
    };
    child.once('exit', exited);
  });
}

/** Has the server write a heap snapshot (`--heapsnapshot-signal`) into `dir`; resolves with its path. */
async function heapSnapshot(server, dir) {
  const before = new Set(readdirSync(dir));
  server.child.kill('SIGUSR2');
  for (;;) {
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 500));
    const made = readdirSync(dir).find((name) => name.endsWith('.heapsnapshot') && !before.has(name));
    if (made === undefined) continue;
    // Written in one go by the server's main thread: it is complete once its size stops changing.
    const path = join(dir, made);
    let size = -1;
    while (statSync(path).size !== size) {
      size = statSync(path).size;
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 1000));
    }
    return path;
  }
}

function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

function shuffled(items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string', default: '1000' },
      active: { type: 'string' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      warmup: { type: 'string', default: 'sweep' },
      runs: { type: 'string', default: 'cold,warm' },
      rounds: { type: 'string', default: '1' },
      keep: { type: 'string' },
      'heap-snapshots': { type: 'string' },
      'server-args': { type: 'string' },
      cli: { type: 'string' },
    },
  });
  const results = await measureManyClients({
    clients: Number(values.clients),
    ...(values.active !== undefined && { active: Number(values.active) }),
    duration: Number(values.duration),
    connections: Number(values.connections),
    warmup: values.warmup,
    runs: values.runs.split(',').filter(Boolean),
    rounds: Number(values.rounds),
    ...(values.keep !== undefined && { keep: resolve(values.keep) }),
    ...(values['heap-snapshots'] !== undefined && { heapSnapshots: resolve(values['heap-snapshots']) }),
    ...(values['server-args'] !== undefined && {
      serverArgs: values['server-args'].split(' ').filter(Boolean),
    }),
    ...(values.cli !== undefined && { clis: values.cli.split(',').map((path) => resolve(path)) }),
  });
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
