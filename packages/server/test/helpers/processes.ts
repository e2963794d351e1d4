import { type ChildProcess, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { waitUntil } from './harness.js';

const run = promisify(execFile);

/**
 * The environment without the `npm_*` variables of the npm that runs the tests (`npm test`): among them
 * `npm_config_local_prefix`, which would make an npm or npx started by a test act on this repository
 * instead of the folder it runs in.
 */
export function outsideNpm(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
}

/** Every process below `pid` (children, grandchildren…), read from `ps`. */
export async function descendants(pid: number): Promise<{ pid: number; args: string }[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,ppid=,args=']);
  const rows = stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map(([, child, parent, args]) => ({ pid: Number(child), ppid: Number(parent), args: args as string }));
  const found: { pid: number; args: string }[] = [];
  const below = (parent: number) => {
    for (const row of rows.filter((r) => r.ppid === parent)) {
      found.push({ pid: row.pid, args: row.args });
      below(row.pid);
    }
  };
  below(pid);
  return found;
}

/** Whether a process with this id still exists (a zombie counts as gone: it has ended). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const { stdout } = await run('ps', ['-o', 'stat=', '-p', String(pid)]);
    return !stdout.trim().startsWith('Z');
  } catch {
    return false; // ps exits 1 when there is no such process
  }
}

/** Processes whose command line contains `text`: what a test's unique data directory leaves behind. */
export async function processesMentioning(text: string): Promise<string[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  return stdout.split('\n').filter((line) => line.includes(text) && !line.includes(' ps -eo'));
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** Still running at the deadline (then killed, with its whole process group). */
  readonly hung: boolean;
}

/**
 * Runs a command to its end, in a process group of its own so that a hung one is killed with every
 * process it started.
 */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; deadlineMs: number },
): Promise<Finished> {
  const started = performance.now();
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    process.kill(-(child.pid as number), 'SIGKILL');
  }, options.deadlineMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started), hung });
    });
  });
}

export interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
}

/** Spawns `command` in a process group of its own and waits for the server's "listening on" line. */
export function startAndWaitForListening(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Started> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: outsideNpm({ ...process.env, ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, port: Number(match[1]), output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}

/**
 * Sends `signal` to the npm process alone and checks that the server drained and every process under
 * npm ended, within a few seconds, leaving the port free.
 */
export async function expectStopsOnSignalToNpm(started: Started, signal: NodeJS.Signals): Promise<void> {
  const npm = started.child.pid as number;
  const tree = await descendants(npm);
  expect(tree.length).toBeGreaterThan(0);
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  process.kill(npm, signal);
  await exited;
  await waitUntil(async () => !(await accepting(started.port)), 10_000, 100);
  for (const { pid } of tree) await waitUntil(async () => !(await alive(pid)), 10_000, 100);
  expect(started.output()).toContain(`portcullis: ${signal} received, draining`);
}
