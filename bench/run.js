// npm run bench: Portcullis against a bare node:https server, in one run, on the same machine and load
// generator (autocannon). Absolute figures on shared machines are noise; the ratios to bare are the result.
//
//   npm run bench -- --duration 10 --connections 50 --rounds 2 --warmup 3
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
  },
});
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

/** CPU time (user + system) a process has used, in microseconds; Linux only, else undefined. */
function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return undefined;
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
      `${title}: ${result.non2xx} non-2xx and ${result.errors} errors out of ${result.requests.total}`,
    );
  }
  const cpuAfter = cpuMicros(child.pid);
  const cpuPerRequest = cpuBefore === undefined ? Number.NaN : (cpuAfter - cpuBefore) / result.requests.total;
  return { title, rps: result.requests.average, p99: result.latency.p99, cpuPerRequest };
}

// Limits stay on, so their counting and headers are measured, but high enough never to refuse the load.
const HIGH = 1_000_000_000;
const portcullis = await start([
  CLI,
  'serve',
  '--port',
  '0',
  '--data-dir',
  dataDir,
  '--rate-limits',
  `${HIGH}/15m,${HIGH}/30m,${HIGH}/1h,${HIGH}/24h`,
  '--token-limit',
  `${HIGH}/10m`,
]);
const { clientId, apiKey } = cli('clients', 'create', 'bench');
const basic = `Basic ${Buffer.from(`${clientId}:${apiKey}`).toString('base64')}`;
const path = `/v2.01/${clientId}/clients`;
const token = await requestToken(portcullis.port, basic);
// The baseline answers the same request shapes with the same response sizes (the very body of GET
// /clients with MANGOPAY's rate-limit headers, and a token response), so that the ratios measure what
// Portcullis's work costs, not the size of a response or the reading of a request body.
const sample = await httpsExchange(portcullis.port, { path, headers: { authorization: basic } });
const bare = await start([BARE], {
  BENCH_CERT: join(dataDir, 'tls-cert.pem'),
  BENCH_KEY: join(dataDir, 'tls-key.pem'),
  BENCH_GET_BODY: sample.text,
  BENCH_GET_HEADERS: JSON.stringify(
    Object.fromEntries(Object.entries(sample.headers).filter(([name]) => name.startsWith('x-ratelimit'))),
  ),
  BENCH_POST_BODY: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }),
});

try {
  const tokenRequest = {
    path: '/v2.01/oauth/token',
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  };
  // Each scenario: [title, server, request, the bare scenario it is compared with].
  const scenarios = [
    ['bare GET', bare, { path: '/' }],
    ['bare POST', bare, { ...tokenRequest, path: '/' }],
    ['Bearer GET /clients', portcullis, { path, headers: { authorization: `Bearer ${token}` } }, 'bare GET'],
    ['Basic GET /clients', portcullis, { path, headers: { authorization: basic } }, 'bare GET'],
    ['token issuance (POST)', portcullis, tokenRequest, 'bare POST'],
  ];
  // Unmeasured runs first, so that no scenario pays for the JIT warming up the code paths it shares.
  for (const [title, server, request] of scenarios) await load(title, server, request, warmup);
  const results = new Map();
  for (let round = 0; round < rounds; round++) {
    // Every other round runs in reverse order, so that no scenario always follows the same neighbour.
    const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const [title, server, request] of order) {
      const measured = await load(title, server, request);
      results.set(title, [...(results.get(title) ?? []), measured]);
      process.stderr.write(`round ${round + 1}: ${title} ${measured.rps.toFixed(0)} req/s\n`);
    }
  }
  const mean = (list, field) => list.reduce((sum, r) => sum + r[field], 0) / list.length;
  // Two views of cost: throughput, which on a shared two-core machine is also bounded by the load
  // generator, and server CPU per request, which is not.
  const rows = scenarios.map(([title, , , baseline]) => {
    const rps = mean(results.get(title), 'rps');
    const cpu = mean(results.get(title), 'cpuPerRequest');
    const base = baseline === undefined ? undefined : results.get(baseline);
    return {
      scenario: title,
      'req/s': Math.round(rps),
      'p99 ms': mean(results.get(title), 'p99').toFixed(1),
      'server CPU µs/req': cpu.toFixed(0),
      baseline: baseline ?? '',
      'req/s ratio': base === undefined ? '' : (rps / mean(base, 'rps')).toFixed(2),
      'CPU ratio (bare/this)': base === undefined ? '' : (mean(base, 'cpuPerRequest') / cpu).toFixed(2),
    };
  });
  console.log(
    `\n${connections} connections, ${duration} s per run, ${rounds} rounds, node ${process.version}`,
  );
  console.table(rows);
} finally {
  portcullis.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
