/**
 * SIGTERM or SIGINT (or only `signals`) drains in-flight requests through `close` and exits 0; a second
 * signal exits at once. `announce` says so on standard output.
 */
export function stopOnSignals(
  close: () => Promise<void>,
  announce: boolean,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    if (announce) process.stdout.write(`portcullis: ${signal} received, draining\n`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(
          `portcullis: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, stop);
}
