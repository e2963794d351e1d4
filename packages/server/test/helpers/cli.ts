import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, as `npx portcullis` runs it (npm test builds first). */
export const CLI = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The admin listener's port; undefined when it is off. */
  readonly adminPort: number | undefined;
  /** Everything the process printed so far. */
  output(): string;
  /** What it printed on standard error alone. */
  errorOutput(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `portcullis serve` in its own process on a free port and waits for its "listening on" line. */
export function spawnServer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errorOutput = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on https:\/\/[^:]+:(\d+)/.exec(output);
      const admin =
        /dashboard, admin API, metrics and health on https:\/\/.+:(\d+)\/\n|(admin listener off)/.exec(
          output,
        );
      if (match === null || admin === null) return;
      clearTimeout(timer);
      resolve({
        child,
        port: Number(match[1]),
        adminPort: admin[1] === undefined ? undefined : Number(admin[1]),
        output: () => output,
        errorOutput: () => errorOutput,
        stop: (signal = 'SIGTERM') => {
          child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      errorOutput += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

/** The processes whose access lines show `route` served: with `--workers N`, which workers answered. */
export function processesThatServed(server: ServerProcess, route: string): Set<number> {
  return new Set(
    server
      .output()
      .split('\n')
      .filter((line) => line.includes('"event":"request"') && line.includes(`"route":"${route}"`))
      .map((line) => Number(JSON.parse(line).pid)),
  );
}
