import cluster from 'node:cluster';
import type { Listening, StartFailed } from './messages.js';
import { WorkerHub } from './primary-side.js';

export interface Supervision {
  /** Worker processes to keep running. */
  readonly workers: number;
  /** Whether the primary keeps the workers' limit counters (no shared cache such as Redis does). */
  readonly countInPrimary: boolean;
  /** Called once, when every worker has reported that it listens (`adminPort` when that listener is on). */
  readonly onListening: (port: number, adminPort: number | undefined) => void;
}

/**
 * The primary process of `serve --workers N`: forks the workers (they run the same command line), keeps
 * their counters and relays their change announcements (WorkerHub), replaces a worker that dies, and on
 * SIGTERM or SIGINT tells each worker to drain, exiting once all have; a second signal exits at once.
 */
export function superviseWorkers({ workers, countInPrimary, onListening }: Supervision): void {
  const hub = new WorkerHub(countInPrimary);
  let stopping = false;
  let announced = false;
  const listening = new Set<number>();
  /** Why the first worker that could not start failed, as it reported. */
  let startFailure: string | undefined;
  const running = () => Object.values(cluster.workers ?? {});
  const fork = () => {
    const worker = cluster.fork();
    hub.add(worker, (message) => {
      if (message.kind === 'portcullis.start_failed') startFailure ??= message.message;
      if (message.kind !== 'portcullis.listening') return;
      listening.add(worker.id);
      if (announced || listening.size < workers) return;
      announced = true;
      onListening(message.port, message.adminPort);
    });
  };
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (stopping) {
      if (running().length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (!announced) {
      // A worker that cannot start would fail again: stop rather than loop. Every worker fails alike
      // (same port, same store), so the first one's reason is the one line printed.
      process.stderr.write(`portcullis: ${startFailure ?? `a worker failed to start (${signal ?? code})`}\n`);
      stopping = true;
      for (const other of running()) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (running().length === 0) process.exit(1);
      return;
    }
    process.stderr.write(
      `portcullis: worker ${worker.process.pid} ended (${signal ?? code}); starting another\n`,
    );
    fork();
  });
  for (let i = 0; i < workers; i++) fork();
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`portcullis: ${signal} received, draining\n`);
    for (const worker of running()) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * In a worker that could not start: tells the primary why, for it to print (N workers would print the same
 * line N times), then exits, since the IPC channel would keep the process alive.
 */
export function reportStartFailure(error: unknown): void {
  const message: StartFailed = {
    kind: 'portcullis.start_failed',
    message: error instanceof Error ? error.message : String(error),
  };
  if (process.send === undefined || !process.connected) process.exit(1);
  process.send(message, () => process.exit(1));
}

/**
 * In a worker that listens on `port` (and `adminPort`): tells the primary, leaves SIGINT to it, and stops (SIGTERM to
 * itself) when the primary is gone, since without it the worker could not count limits.
 */
export function reportListening(port: number, adminPort: number | undefined): void {
  const message: Listening = {
    kind: 'portcullis.listening',
    port,
    ...(adminPort !== undefined && { adminPort }),
  };
  process.send?.(message);
  // A terminal's Ctrl-C reaches every process of the group: the primary turns it into one SIGTERM each,
  // which a worker must not take as a second signal (that would cut its drain short).
  process.on('SIGINT', () => undefined);
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
