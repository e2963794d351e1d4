export interface Stopping {
  /** Drains in-flight requests and closes the server. */
  readonly close: () => Promise<void>;
  /** Says on standard output that a signal was received. */
  readonly announce: boolean;
  readonly signals?: readonly NodeJS.Signals[];
  /** Writes out log lines still held, last: the drained requests' lines are among them. */
  readonly flushLog: () => Promise<void>;
}

/**
 * SIGTERM or SIGINT (or only `signals`) drains in-flight requests through `close`, flushes the log and
 * exits 0; a second signal exits at once (pino still flushes on exit).
 */
export function stopOnSignals({
  close,
  announce,
  signals = ['SIGTERM', 'SIGINT'],
  flushLog,
}: Stopping): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    if (announce) process.stdout.write(`portcullis: ${signal} received, draining\n`);
    close().then(
      () => flushLog().then(() => process.exit(0)),
      (error: unknown) => {
        process.stderr.write(
          `portcullis: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        flushLog().then(() => process.exit(1));
      },
    );
  };
  for (const signal of signals) process.on(signal, stop);
}

/** How often a server started by npm checks that its parent is still there. */
const PARENT_CHECK_MS = 250;

/**
 * `npx portcullis serve` runs the server under `sh -c`: npm forwards SIGTERM or SIGINT to that shell,
 * which ends without passing it on, and the server would keep serving with nobody left to stop it. A
 * server that npm started (npm sets `npm_lifecycle_event`) therefore takes the end of its parent as a
 * SIGTERM. Outside npm the parent may end on purpose (`nohup portcullis serve &`), so nothing is watched.
 */
export function stopWhenNpmParentEnds(): void {
  if (process.env.npm_lifecycle_event === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, PARENT_CHECK_MS);
  timer.unref();
}
