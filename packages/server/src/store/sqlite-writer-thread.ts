import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * How often the thread checkpoints without being asked to write, for what the server's connection wrote
 * (its own threshold is a backstop while the thread runs). PASSIVE: it never waits for, nor blocks, anyone.
 */
const CHECKPOINT_EVERY_MS = 1000;

/**
 * The thread's code: its own connection to the database file, running the one statement it was given
 * for each message. Plain JavaScript evaluated as a script, so that it runs the same from the sources
 * (tests) and from the build; the driver is loaded from the path this module resolves.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
const statement = db.prepare(workerData.statement);
// Its commits checkpoint past SQLite's threshold; this also moves what other connections wrote meanwhile.
setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Tried again at the next interval; a commit past the threshold checkpoints meanwhile.
  }
}, workerData.checkpointEveryMs);
parentPort.on('message', ({ id, params }) => {
  try {
    statement.run(params);
    parentPort.postMessage({ id });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly error?: string;
}

interface Waiting {
  readonly written: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * A thread with a connection of its own to a SQLite file, running one write statement off the event loop.
 * better-sqlite3 runs statements synchronously, and a large write holds the loop for as long as it takes,
 * plus, every 1,000 pages of write-ahead log, the checkpoint its commit runs (measured for issue 15: 500
 * keys' usage, 4 to 6 ms; with the checkpoint, 19 to 27 ms). Here both happen in the thread, which also
 * checkpoints every second, so the process's own connection can leave checkpoints to it.
 *
 * If the thread fails, every write waiting fails and `onGone` is told, once, so that the caller can
 * return to writing on its own connection.
 */
export class SqliteWriterThread {
  readonly #worker: Worker;
  /** The writes sent and not yet answered: what `close` waits for. */
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 0;
  #gone: Error | undefined;

  constructor(
    options: { readonly file: string; readonly statement: string; readonly busyTimeoutMs: number },
    onGone: (error: Error) => void,
  ) {
    this.#worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        ...options,
        checkpointEveryMs: CHECKPOINT_EVERY_MS,
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      },
    });
    // Idle, it does not keep the process alive; a write waiting on it does (see `run`).
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const waiting = this.#waiting.get(reply.id);
      if (waiting === undefined) return;
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if (reply.error === undefined) waiting.resolve();
      else waiting.reject(new Error(reply.error));
    });
    const end = (error: Error) => {
      if (this.#gone !== undefined) return;
      this.#gone = error;
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
      onGone(error);
    };
    this.#worker.on('error', end);
    this.#worker.on('exit', (code) => end(new Error(`the SQLite writer thread exited (${code})`)));
  }

  /** Whether the thread has ended, failed or closed: nothing more runs on it. */
  get gone(): boolean {
    return this.#gone !== undefined;
  }

  /** Runs the statement with `params` (numbered, as `{1: …}`) in the thread. */
  run(params: Readonly<Record<number, string | number | null>>): Promise<void> {
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    const id = this.#nextId++;
    let settle: Omit<Waiting, 'written'> | undefined;
    const written = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.#waiting.set(id, { written, ...(settle as Omit<Waiting, 'written'>) });
    this.#worker.ref();
    this.#worker.postMessage({ id, params });
    return written;
  }

  /** Waits for the writes sent, then ends the thread. */
  async close(): Promise<void> {
    await Promise.allSettled(Array.from(this.#waiting.values(), (waiting) => waiting.written));
    this.#gone ??= new Error('the SQLite writer thread is closed');
    await this.#worker.terminate();
  }
}
