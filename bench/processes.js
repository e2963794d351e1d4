// What the bench scripts share: starting a server process and waiting until it listens, and, on the other
// side, a server the bench starts itself announcing where it listens; and the limits every bench serves with.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HIGH = 1_000_000_000;
/**
 * `serve` flags for every bench: limits stay on, all four windows and the token limit, so that their
 * counting and headers are measured, with counts too high ever to refuse the load.
 */
export const LIMITS = [
  '--rate-limits',
  `${HIGH}/15m,${HIGH}/30m,${HIGH}/1h,${HIGH}/24h`,
  '--token-limit',
  `${HIGH}/10m`,
];

/**
 * Starts `node ...args` and resolves with the child and its port once it prints
 * `listening on https://host:port`; rejects if it exits first.
 *
 * Its standard output goes to a file (removed at once, kept open), not to a pipe: run.js blocks in wrk
 * while it measures, and a pipe that nobody reads would stall a server that logs every request (or, with
 * asynchronous writes, make it hold the lines in memory), which no deployment does.
 */
export function startListening(args, env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-bench-out-'));
  const fd = openSync(join(dir, 'stdout'), 'w+');
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', fd, 'inherit'],
    env: { ...process.env, ...env },
  });
  rmSync(dir, { recursive: true, force: true });
  const head = Buffer.alloc(4096);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearInterval(poll);
      closeSync(fd);
    };
    const poll = setInterval(() => {
      const length = readSync(fd, head, 0, head.length, 0);
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(head.toString('utf8', 0, length));
      if (match === null) return;
      done();
      child.off('exit', exited);
      resolve({ child, port: Number(match[1]) });
    }, 50);
    const exited = (code) => {
      done();
      reject(new Error(`${args.join(' ')} exited with ${code}`));
    };
    child.once('exit', exited);
  });
}

/**
 * For a server process the bench starts itself (the bare server, the peers): serves `handler` over HTTPS
 * with the bench's certificate (BENCH_CERT and BENCH_KEY, files) on a free port of 127.0.0.1, announces
 * the port the way startListening reads it, and exits at once on SIGTERM.
 */
export function serveHttps(handler) {
  const server = https.createServer(
    { cert: readFileSync(process.env.BENCH_CERT), key: readFileSync(process.env.BENCH_KEY) },
    handler,
  );
  server.listen(0, '127.0.0.1', () => console.log(`listening on https://127.0.0.1:${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}

/** Stops a server `startListening` started, and waits until it has exited. */
export async function stop(server) {
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

/**
 * CPU time (user + system) a process and its children (a primary's workers) have used, in microseconds;
 * Linux only, else undefined.
 */
export function cpuMicros(pid) {
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

/** wrk's 99th percentile line (with `--latency`). */
export const WRK_P99 = /\s99%\s+([\d.]+)(us|ms|s)/;
const UNIT_MS = { us: 0.001, ms: 1, s: 1000 };

/** A latency wrk printed, in milliseconds: `pattern` captures the number and its unit; NaN when absent. */
export function wrkLatencyMs(output, pattern) {
  const match = pattern.exec(output);
  return match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2]];
}
