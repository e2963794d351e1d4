// npm run bench: Portcullis against a bare node:https server that answers the same bytes, in one run, on
// the same machine, under the same load generator: wrk, written in C, so that the generator costs far less
// than the servers it drives (a Node generator on the same two cores saturates first and pulls every ratio
// towards 1). Absolute figures on shared machines are noise; the ratios to bare are the result.
//
//   npm run bench                                    every setup, 3 rounds of 10 s per scenario and side
//   npm run bench -- --duration 10 --connections 32 --rounds 3 --warmup 3 --setups single,workers,postgres,peers
//   npm run build && node bench/run.js --setups single,peers --rounds 1 --duration 3 --warmup 1   (a quick try)
//
// The setups (`--setups`, comma-separated; all by default):
//   single    Portcullis, 1 worker, SQLite: Bearer GET, Basic GET, token issuance, forward-auth allow;
//   workers   the same with 2 workers;
//   postgres  1 worker on PostgreSQL + Redis (PORTCULLIS_BENCH_PG_URL, PORTCULLIS_BENCH_REDIS_URL; left out
//             when either does not answer);
//   peers     token issuance (RFC 6749 §4.4, client_secret_basic) by oidc-provider and by
//             @node-oauth/oauth2-server (bench/peers/), each against a bare server answering its bytes.
//
// Every row gives the server's req/s, p99 and CPU µs per request (from /proc, all its processes) beside the
// bare server's, and three ratios (server / bare), each the median of the per-round ratios; then wrk's own
// CPU µs per request (user + system, from bash's `times`), what the load generator takes from the same
// cores. After the table: issue 15's targets, met or not, for the setups run, and for 2 workers how much of
// the cores wrk took.
//
// `--log-level warn` turns the access log off, to measure what it costs (default: the server's, info).
//
// `--against DIR` compares this build with another checkout's (built: `npm ci` there), in place of the
// bare server: the same setups and scenarios, both builds on the same data directory, in the same
// interleaved rounds. This is how docs/performance.md states each change's effect (before/after, one run).
//
// `--profile` says where the time goes instead of measuring rounds: each Portcullis scenario of the chosen
// setups, and the bare server answering its bytes, run once under `node --cpu-prof` (after a warm-up) on
// servers of their own, and the profiles' samples of the measured run summed per request by kind of work
// (TLS writes, Node's HTTP machinery, our code, garbage collection, …) side by side (bench/cpu-profile.js).
// The profiler slows both servers alike; compare kinds, not totals, with the measured runs.
//
// `--clients N [--active M]` measures the cost as the number of clients grows instead (bench/many-clients.js):
// 1,000 clients, then N in the store with M of them (all by default) called at random, each a cold run
// (just started) and a warm one; every count on a store of its own, made through the admin API. Reported
// beside the 1,000-client figures, with issue 15's targets for it.
//
// `--metrics-cost` measures what recording metrics costs instead: the Bearer and Basic scenarios against
// the same server with its admin listener off (nothing recorded) in place of the bare server, in the same
// rounds (no peers, no targets). Nothing scrapes during the runs: a scrape every 15 s or so costs a few ms
// once, not per request.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { profileSummary } from './cpu-profile.js';
import { measureManyClients } from './many-clients.js';
import { cpuMicros, LIMITS, startListening, stop, WRK_P99, wrkLatencyMs } from './processes.js';

const CLI_IN_CHECKOUT = 'packages/server/bin/portcullis.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    setups: { type: 'string', default: 'single,workers,postgres,peers' },
    'log-level': { type: 'string' },
    'metrics-cost': { type: 'boolean', default: false },
    against: { type: 'string' },
    profile: { type: 'boolean', default: false },
    clients: { type: 'string' },
    active: { type: 'string' },
  },
});
const metricsCost = args['metrics-cost'];
/** Another checkout's CLI, measured in place of the bare server (`--against`). */
const againstCli = args.against === undefined ? undefined : resolve(args.against, CLI_IN_CHECKOUT);
if (againstCli !== undefined && !existsSync(againstCli)) {
  process.stderr.write(`--against: no ${againstCli}: build that checkout first (npm ci there)\n`);
  process.exit(1);
}
/** Portcullis's own baseline, when it is not the bare server: the same scenarios, every one of them. */
const portcullisBaseline = metricsCost || againstCli !== undefined;
/** What each run of a server is compared with. */
const baseline = metricsCost ? 'metrics off' : againstCli !== undefined ? 'against' : 'bare';
const chosen = new Set(args.setups.split(','));
const duration = Number(args.duration);
const connections = Number(args.connections);
const rounds = Number(args.rounds);
const warmup = Number(args.warmup);

if (spawnSync('wrk', ['--version']).error !== undefined) {
  process.stderr.write('npm run bench drives load with wrk, which is not installed: apt-get install wrk\n');
  process.exit(1);
}

const CLI = fileURLToPath(new URL(`../${CLI_IN_CHECKOUT}`, import.meta.url));
const BARE = fileURLToPath(new URL('./bare-https-server.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
const scriptDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-wrk-'));

/** The reference count the issue's client-scaling targets compare with. */
const FEW_CLIENTS = 1000;

/** The scenarios of a Portcullis setup, by name (the targets name them too). */
const BEARER = 'Bearer GET /clients';
const BASIC = 'Basic GET /clients';
const TOKEN = 'token issuance (POST)';
const FORWARD_AUTH = 'Basic forward-auth allow';

/** Issue 15's targets: a bound on one figure of one scenario of one setup (p99 at 32 connections). */
const TARGETS = [
  { setup: 'single', scenario: BEARER, figure: 'rpsRatio', atLeast: 0.9 },
  { setup: 'single', scenario: BASIC, figure: 'rpsRatio', atLeast: 0.85 },
  { setup: 'single', scenario: TOKEN, figure: 'rpsRatio', atLeast: 0.6 },
  { setup: 'single', scenario: FORWARD_AUTH, figure: 'rpsRatio', atLeast: 0.9 },
  ...[BEARER, BASIC, TOKEN, FORWARD_AUTH].map((scenario) => ({
    setup: 'single',
    scenario,
    figure: 'p99Ratio',
    atMost: 1.25,
  })),
  { setup: 'single', scenario: BEARER, figure: 'cpuRatio', atMost: 1.15 },
  { setup: 'postgres', scenario: BEARER, figure: 'rpsRatio', atLeast: 0.85 },
  { setup: 'postgres', scenario: TOKEN, figure: 'rpsRatio', atLeast: 0.55 },
];
const FIGURE_NAMES = { rpsRatio: 'req/s ratio', p99Ratio: 'p99 ratio', cpuRatio: 'CPU ratio' };

function cli(...cliArgs) {
  return JSON.parse(
    execFileSync(process.execPath, [CLI, ...cliArgs, '--data-dir', dataDir, '--json'], { encoding: 'utf8' }),
  );
}

/** The certificate Portcullis made in the data directory, for the servers the bench starts itself. */
function certificateEnv() {
  return { BENCH_CERT: join(dataDir, 'tls-cert.pem'), BENCH_KEY: join(dataDir, 'tls-key.pem') };
}

/** RFC 7617 Basic credentials (ASCII ids and secrets here, so RFC 6749 Appendix B encoding changes nothing). */
function basicAuthorization(id, secret) {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** A client credentials token request (RFC 6749 §4.4), the client authenticating with Basic. */
function tokenRequest(path, authorization) {
  return {
    method: 'POST',
    path,
    headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  };
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

/** What the bare server must send back for one request: the server's answer to it, byte for byte. */
function cannedAnswer({ status, rawHeaders, text }) {
  const headers = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!WRITTEN_BY_NODE.has(rawHeaders[i].toLowerCase())) headers.push([rawHeaders[i], rawHeaders[i + 1]]);
  }
  return { status, headers, body: text };
}

/** How the bare server finds the answer to a request. */
function answerKey({ method = 'GET', path }) {
  return `${method} ${path}`;
}

/**
 * The answer with what each token answer has of its own blanked, keeping its length: the access token,
 * and expires_in, which a peer counts down from the token's expiry (3600, then 3599 a second later).
 */
function withoutIssuedValues(answer) {
  const { access_token: token, expires_in: lifetime } = JSON.parse(answer.body);
  if (typeof token !== 'string') throw new Error(`no access token in ${JSON.stringify(answer)}`);
  const blank = (value) => 'x'.repeat(String(value).length);
  const body = answer.body
    .replace(token, blank(token))
    .replace(`"expires_in":${lifetime}`, `"expires_in":${blank(lifetime)}`);
  return { ...answer, body };
}

function checkSame(expected, got, what) {
  const [want, have] = [JSON.stringify(expected), JSON.stringify(got)];
  if (have !== want) throw new Error(`${what} answers ${have}\ninstead of ${want}`);
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

/** wrk run by bash, whose `times` then prints the CPU time of the shell and of its children (wrk). */
const WRK_TIMED = 'wrk "$@"; status=$?; times; exit $status';
/** The last line of `times`: the children's user and system time, as `0m1.234s 0m0.567s`. */
const CHILDREN_TIMES = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/;

function wrkCpuMicros(output) {
  const times = CHILDREN_TIMES.exec(output);
  if (times === null) return Number.NaN;
  const [, userMin, userSec, sysMin, sysSec] = times.map(Number);
  return (userMin * 60 + userSec + sysMin * 60 + sysSec) * 1e6;
}

/** Runs wrk against one server; refuses a run in which anything but 2xx came back. */
function load(title, { child, port }, { path, script }, seconds = duration) {
  const cpuBefore = cpuMicros(child.pid);
  const run = spawnSync(
    'bash',
    [
      '-c',
      WRK_TIMED,
      'wrk',
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
  const refused = /Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1];
  const socketErrors = /Socket errors: (.*)/.exec(output)?.[1];
  if (run.status !== 0 || !(total > 0) || refused !== undefined || socketErrors !== undefined) {
    throw new Error(`${title}: wrk failed or saw refusals or socket errors:\n${output}${run.stderr}`);
  }
  return {
    requests: total,
    rps,
    p99: wrkLatencyMs(output, WRK_P99),
    cpuPerRequest: cpuBefore === undefined ? Number.NaN : (cpuAfter - cpuBefore) / total,
    wrkCpuPerRequest: wrkCpuMicros(output) / total,
  };
}

const PG_URL = process.env.PORTCULLIS_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.PORTCULLIS_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgSchema = `portcullis_bench_${process.pid}`;

/** The peers, each its own process on the bench's certificate (bench/peers/ says how each is configured). */
const PEERS = [
  { name: 'oidc-provider', file: './peers/oidc-provider.js' },
  { name: '@node-oauth/oauth2-server', file: './peers/oauth2-server.js' },
].map(({ name, file }) => ({ name, script: fileURLToPath(new URL(file, import.meta.url)) }));
/** The one client every peer knows, made for this run, and the token request each peer is measured with. */
const PEER_CLIENT = { id: 'bench-peer', secret: randomBytes(32).toString('base64url') };
const PEER_TOKEN_REQUEST = tokenRequest('/token', basicAuthorization(PEER_CLIENT.id, PEER_CLIENT.secret));

/** The setups measured, each server against a bare one answering its bytes, in the same rounds. */
const setups = [
  { id: 'single', name: '1 worker, SQLite', workers: 1, storeArgs: [], prepare: preparePortcullis },
  { id: 'workers', name: '2 workers, SQLite', workers: 2, storeArgs: [], prepare: preparePortcullis },
].filter(({ id }) => chosen.has(id));
if (chosen.has('postgres') && (await servicesUp())) {
  const store = new URL(PG_URL);
  store.searchParams.set('options', `-c search_path=${pgSchema}`);
  setups.push({
    id: 'postgres',
    name: '1 worker, PostgreSQL + Redis',
    workers: 1,
    storeArgs: ['--store', store.toString(), '--cache', REDIS_URL, '--cache-prefix', `${pgSchema}:`],
    prepare: preparePortcullis,
  });
} else if (chosen.has('postgres')) {
  process.stderr.write(`no PostgreSQL at ${PG_URL} or Redis at ${REDIS_URL}: that setup is left out\n`);
}
if (chosen.has('peers') && (portcullisBaseline || args.profile)) {
  process.stderr.write(
    '--metrics-cost, --against and --profile are about Portcullis: the peers are left out\n',
  );
} else if (chosen.has('peers')) {
  setups.push({ id: 'peers', name: 'peers', prepare: preparePeers });
}

const rows = [];
try {
  if (args.clients !== undefined) {
    await measureClientCounts(
      Number(args.clients),
      args.active === undefined ? undefined : Number(args.active),
    );
  } else if (args.profile) {
    for (const setup of setups) await profile(setup);
  } else {
    for (const setup of setups) await measure(setup);
    report();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scriptDir, { recursive: true, force: true });
  if (setups.some(({ id }) => id === 'postgres')) {
    await psql(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
    await deleteRedisKeys(`${pgSchema}:*`);
  }
}

/**
 * Portcullis as measured: its admin listener on (and recording metrics) on a free port, or off; this
 * build's CLI or another's; `nodeFlags` such as `--cpu-prof`.
 */
function startPortcullis({ workers, storeArgs }, { adminPort = '0', cli = CLI, nodeFlags = [] } = {}) {
  return startListening([
    ...nodeFlags,
    cli,
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

/**
 * Runs `work` with `started`, which it hands every server it starts (and returns it), and stops those
 * servers when `work` is done, whatever happened.
 */
async function withServers(work) {
  const servers = [];
  try {
    return await work((server) => {
      servers.push(server);
      return server;
    });
  } finally {
    for (const server of servers) await stop(server);
  }
}

/** Starts one setup's servers, measures its scenarios in interleaved rounds, and stops the servers. */
async function measure(setup) {
  await withServers(async (started) => {
    const scenarios = await setup.prepare(setup, started);
    warmUp(scenarios);
    for (let round = 0; round < rounds; round++) measureRound(setup, scenarios, round);
    for (const scenario of scenarios) rows.push(summary(setup, scenario));
  });
}

/**
 * `--profile`: the setup's servers run under the profiler; after the warm-up, one run of each scenario on
 * each side, and the samples taken during that run (by the monotonic clock that V8's profiles and
 * process.hrtime share) summed per request by kind of work.
 */
async function profile(setup) {
  if (setup.prepare !== preparePortcullis) return;
  const profileDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-profiles-'));
  const measured = [];
  await withServers(async (started) => {
    const scenarios = await preparePortcullis(setup, started, ['--cpu-prof', '--cpu-prof-dir', profileDir]);
    warmUp(scenarios);
    for (const scenario of scenarios) {
      for (const side of ['server', 'bare']) {
        const from = microsNow();
        const { requests } = load(
          `${setup.name}: ${scenario.name} (${side}, profiled)`,
          scenario[side],
          scenario.target,
        );
        measured.push({ scenario, side, window: [from, microsNow()], requests });
      }
    }
  });
  const profileOf = (server) =>
    join(
      profileDir,
      readdirSync(profileDir).find((file) => file.includes(`.${server.child.pid}.`)),
    );
  const columns = measured.map(({ scenario, side, window, requests }) => ({
    title: `${scenario.name}: ${side === 'server' ? 'Portcullis' : 'bare'}`,
    ...profileSummary(profileOf(scenario[side]), requests, window),
  }));
  rmSync(profileDir, { recursive: true, force: true });
  printProfiles(setup, columns);
}

function microsNow() {
  return Number(process.hrtime.bigint() / 1000n);
}

/** µs per request by kind of work, a column per scenario and side; then our busiest functions. */
function printProfiles(setup, columns) {
  const kinds = [...new Set(columns.flatMap(({ kinds }) => [...kinds.keys()]))].filter(
    (kind) => kind !== 'idle',
  );
  const table = {};
  for (const kind of kinds) {
    table[kind] = Object.fromEntries(
      columns.map(({ title, kinds: of }) => [title, (of.get(kind) ?? 0).toFixed(2)]),
    );
  }
  table['busy (all but idle)'] = Object.fromEntries(
    columns.map(({ title, busy }) => [title, busy.toFixed(2)]),
  );
  console.log(
    `\n${setup.name}: µs of samples per request, by kind of work (under the profiler, after a ${warmup} s warm-up, one ${duration} s run each)`,
  );
  console.table(table);
  for (const { title, ownFunctions } of columns.filter(({ title }) => title.endsWith('Portcullis'))) {
    console.log(`${title}: our busiest functions (self time)`);
    for (const [name, micros] of ownFunctions) console.log(`  ${micros.toFixed(2).padStart(6)} µs  ${name}`);
  }
}

/**
 * `--clients N`: 1,000 clients, then N (M of them active), one worker, each count on its own store; the
 * warm runs compared (rate ≥ 0.80 of 1,000 clients', p99 ≤ 2×, no event-loop pause over 50 ms).
 */
async function measureClientCounts(clients, active) {
  const common = { duration, connections, rounds, runs: ['cold', 'warm'] };
  const few = await measureManyClients({ ...common, clients: FEW_CLIENTS });
  const many = await measureManyClients({ ...common, clients, ...(active !== undefined && { active }) });
  const warm = (results) => results.filter(({ run }) => run === 'warm');
  const reference = {
    rps: median(warm(few).map(({ rps }) => rps)),
    p99: median(warm(few).map(({ p99Ms }) => p99Ms)),
  };
  console.log(
    `\nwrk -t1 -c${connections}, ${duration} s per run, ${rounds} round(s), one worker, SQLite, limits on (counts too high to refuse)`,
  );
  console.table(
    [...few, ...many].map((row) => ({
      clients: row.clients,
      active: row.active,
      run: row.run,
      'req/s': Math.round(row.rps),
      'rate / 1,000 clients': (row.rps / reference.rps).toFixed(2),
      'p99 ms': row.p99Ms.toFixed(1),
      'p99 / 1,000 clients': (row.p99Ms / reference.p99).toFixed(2),
      'max ms': row.maxMs.toFixed(1),
      'event-loop max ms': row.eventLoop.maxMs.toFixed(1),
      'RSS MB': Math.round(row.rssMb),
      'CPU µs/req': row.cpuPerRequestUs.toFixed(1),
    })),
  );
  const rps = median(warm(many).map((row) => row.rps)) / reference.rps;
  const p99 = median(warm(many).map((row) => row.p99Ms)) / reference.p99;
  const pause = Math.max(...warm(many).map((row) => row.eventLoop.maxMs));
  const line = (met, text) => `  ${met ? 'met    ' : 'not met'}  ${text}`;
  console.log(
    [
      `\nissue 15 targets, ${clients} clients (${active ?? clients} active), warm:`,
      line(rps >= 0.8, `rate ${rps.toFixed(2)} of the 1,000-client rate, target ≥ 0.80`),
      line(p99 <= 2, `p99 ${p99.toFixed(2)}× the 1,000-client p99, target ≤ 2`),
      line(pause <= 50, `longest event-loop pause ${pause.toFixed(1)} ms, target ≤ 50 ms`),
    ].join('\n'),
  );
}

/** One scenario: a request sent to a server and to its baseline, and the runs of each round. */
function scenario(setup, name, request, server, bare) {
  return {
    name,
    server,
    bare,
    target: { path: request.path, script: wrkScript(`${setup.id} ${name}`, request) },
    runs: [],
  };
}

/**
 * Portcullis with one client made through its CLI: the Bearer, Basic, token and forward-auth scenarios,
 * each against its baseline. `nodeFlags` go to both servers (the profiler).
 */
async function preparePortcullis(setup, started, nodeFlags = []) {
  const portcullis = started(await startPortcullis(setup, { nodeFlags }));
  const { clientId, apiKey } = cli('clients', 'create', `bench-${setup.id}`, ...setup.storeArgs);
  const basic = basicAuthorization(clientId, apiKey);
  const clientsPath = `/v2.01/${clientId}/clients`;
  // A new client reaches every worker through the change feed: wait until it does.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const token = tokenRequest('/v2.01/oauth/token', basic);
  const issued = await httpsExchange(portcullis.port, token);
  const bearer = `Bearer ${JSON.parse(issued.text).access_token}`;
  const requests = {
    [BEARER]: { path: clientsPath, headers: { Authorization: bearer } },
    [BASIC]: { path: clientsPath, headers: { Authorization: basic } },
    ...(!metricsCost && {
      [TOKEN]: token,
      // A reverse proxy asking whether a call may pass, as Traefik and Caddy ask (nginx differs only in
      // the headers' names): admission without a body to carry, answered 200 with the identity headers.
      [FORWARD_AUTH]: {
        path: '/forward-auth',
        headers: {
          Authorization: basic,
          'X-Forwarded-Method': 'GET',
          'X-Forwarded-Uri': `${clientsPath}/x`,
        },
      },
    }),
  };
  // Portcullis without metrics, or another build, answers alike: there are no bytes to check.
  const bare = metricsCost
    ? started(await startPortcullis(setup, { adminPort: 'off' }))
    : againstCli !== undefined
      ? started(await startPortcullis(setup, { cli: againstCli }))
      : await startBareLike(portcullis, Object.values(requests), started, nodeFlags);
  return Object.entries(requests).map(([name, request]) => scenario(setup, name, request, portcullis, bare));
}

/** Each peer with its own bare server: its token issuance scenario. */
async function preparePeers(setup, started) {
  await ensureCertificate();
  const scenarios = [];
  for (const { name, script } of PEERS) {
    const peer = started(
      await startListening([script], {
        ...certificateEnv(),
        BENCH_CLIENT_ID: PEER_CLIENT.id,
        BENCH_CLIENT_SECRET: PEER_CLIENT.secret,
      }),
    );
    const bare = await startBareLike(peer, [PEER_TOKEN_REQUEST], started);
    // The peer issues a new token per answer, the bare server its one: all else must be the same bytes.
    checkSame(
      withoutIssuedValues(cannedAnswer(await httpsExchange(peer.port, PEER_TOKEN_REQUEST))),
      withoutIssuedValues(cannedAnswer(await httpsExchange(bare.port, PEER_TOKEN_REQUEST))),
      `the bare server for ${name}`,
    );
    scenarios.push(scenario(setup, `${name} token issuance`, PEER_TOKEN_REQUEST, peer, bare));
  }
  return scenarios;
}

/** The peers use Portcullis's certificate, which it makes on its first start: started once if not yet. */
async function ensureCertificate() {
  if (!existsSync(certificateEnv().BENCH_CERT))
    await stop(await startPortcullis({ workers: 1, storeArgs: [] }));
}

/**
 * A bare server that answers each of `requests` exactly as `server` did (status, headers, body; Node adds
 * Date, Connection and Keep-Alive to both), so that a ratio measures the server's work alone. The
 * baseline is only a baseline if it does send the same bytes: checked, not assumed.
 */
async function startBareLike(server, requests, started, nodeFlags = []) {
  const answers = {};
  for (const request of requests) {
    answers[answerKey(request)] = cannedAnswer(await httpsExchange(server.port, request));
  }
  const bare = started(
    await startListening([...nodeFlags, BARE], {
      ...certificateEnv(),
      BENCH_ANSWERS: JSON.stringify(answers),
    }),
  );
  for (const request of requests) {
    const got = cannedAnswer(await httpsExchange(bare.port, request));
    checkSame(answers[answerKey(request)], got, 'the bare server');
  }
  return bare;
}

/** Unmeasured runs first, so that no scenario pays for the JIT warming up the code paths it shares. */
function warmUp(scenarios) {
  for (const { server, bare, target } of scenarios) {
    load('warm-up', server, target, warmup);
    load('warm-up', bare, target, warmup);
  }
}

/** The scenarios in turn, in alternating order, each server and its baseline alternating who goes first. */
function measureRound(setup, scenarios, round) {
  const even = round % 2 === 0;
  for (const scenario of even ? scenarios : [...scenarios].reverse()) {
    const run = {};
    for (const side of even ? ['server', 'bare'] : ['bare', 'server']) {
      run[side] = load(`${setup.name}: ${scenario.name} (${side})`, scenario[side], scenario.target);
    }
    scenario.runs.push(run);
    process.stderr.write(
      `round ${round + 1}: ${setup.name}: ${scenario.name}: ${run.server.rps.toFixed(0)} req/s, ${baseline} ${run.bare.rps.toFixed(0)}\n`,
    );
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Medians over the rounds, as numbers; each ratio (server / baseline) is taken within its round (same
 * machine state), then the median of those.
 */
function summary(setup, { name, runs }) {
  const medianOf = (side, field) => median(runs.map((run) => run[side][field]));
  const ratios = (field) => runs.map((run) => run.server[field] / run.bare[field]);
  const rpsRatios = ratios('rps');
  return {
    setup: setup.id,
    name,
    scenario: `${setup.name}: ${name}`,
    rps: medianOf('server', 'rps'),
    bareRps: medianOf('bare', 'rps'),
    rpsRatio: median(rpsRatios),
    rpsRatioLow: Math.min(...rpsRatios),
    rpsRatioHigh: Math.max(...rpsRatios),
    p99: medianOf('server', 'p99'),
    bareP99: medianOf('bare', 'p99'),
    p99Ratio: median(ratios('p99')),
    cpu: medianOf('server', 'cpuPerRequest'),
    bareCpu: medianOf('bare', 'cpuPerRequest'),
    cpuRatio: median(ratios('cpuPerRequest')),
    wrkCpu: medianOf('server', 'wrkCpuPerRequest'),
  };
}

/** One row of the printed table: the summary's numbers as text. */
function tableRow(row) {
  return {
    scenario: row.scenario,
    'req/s': Math.round(row.rps),
    [`${baseline} req/s`]: Math.round(row.bareRps),
    'ratio (range)': `${row.rpsRatio.toFixed(2)} (${row.rpsRatioLow.toFixed(2)}–${row.rpsRatioHigh.toFixed(2)})`,
    'p99 ms': row.p99.toFixed(2),
    [`${baseline} p99 ms`]: row.bareP99.toFixed(2),
    'p99 ratio': row.p99Ratio.toFixed(2),
    'CPU µs/req': row.cpu.toFixed(1),
    [`${baseline} CPU µs/req`]: row.bareCpu.toFixed(1),
    'CPU ratio': row.cpuRatio.toFixed(2),
    'wrk CPU µs/req': row.wrkCpu.toFixed(1),
  };
}

/** A line per target whose setup was measured: met or not, with the figure. */
function targetLines() {
  return TARGETS.flatMap(({ setup, scenario, figure, atLeast, atMost }) => {
    const row = rows.find((candidate) => candidate.setup === setup && candidate.name === scenario);
    if (row === undefined) return [];
    const value = row[figure];
    const met = atLeast === undefined ? value <= atMost : value >= atLeast;
    const bound = atLeast === undefined ? `≤ ${atMost.toFixed(2)}` : `≥ ${atLeast.toFixed(2)}`;
    return [
      `  ${met ? 'met    ' : 'not met'}  ${row.scenario}: ${FIGURE_NAMES[figure]} ${value.toFixed(2)}, target ${bound}`,
    ];
  });
}

/** For 2 workers: how much of the machine's cores wrk took, and how much the server used of the rest. */
function loadGeneratorLines() {
  const cores = availableParallelism();
  return rows
    .filter(({ setup }) => setup === 'workers')
    .map(({ scenario, rps, cpu, wrkCpu }) => {
      const [wrkCores, serverCores] = [wrkCpu, cpu].map((micros) => ((micros * rps) / 1e6).toFixed(2));
      return `  ${scenario}: wrk took ${wrkCores} of ${cores} cores, the server used ${serverCores}`;
    });
}

function report() {
  console.log(
    `\nwrk -t1 -c${connections}, ${duration} s per run, ${rounds} interleaved rounds (medians; ratios are medians of per-round ratios), node ${process.version}, log level ${args['log-level'] ?? 'default'}, ${metricsCost ? 'metrics on (admin listener on) against off' : 'metrics on (admin listener on)'}${againstCli === undefined ? '' : `, against ${againstCli}`}`,
  );
  console.table(rows.map(tableRow));
  const targets = portcullisBaseline ? [] : targetLines();
  if (targets.length > 0) {
    const at =
      connections === 32 ? '' : ` (the p99 target is for 32 connections; this run used ${connections})`;
    console.log(`\nissue 15 targets${at}:\n${targets.join('\n')}`);
  }
  const generator = loadGeneratorLines();
  if (generator.length > 0) console.log(`\nthe load generator on the same cores:\n${generator.join('\n')}`);
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
