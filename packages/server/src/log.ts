import { pino } from 'pino';

/**
 * Structured logging: one JSON object per line, formatted here and written to standard output by pino's
 * destination (sonic-boom, with pino's write-out on exit). Callers pass ids and fingerprints, never a key,
 * a token or an Authorization value; the fields are written as given. Nothing outside this file knows
 * pino: the rest of the server sees `Logger`.
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** A logger of standard output that can write out what it holds before the process exits. */
export interface ProcessLogger extends Logger {
  /** Writes out the lines held, then closes the stream; later lines are dropped. */
  flush(): Promise<void>;
}

const noop = () => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Whether a logger set to `threshold` writes lines of `level`. */
export function levelEnabled(threshold: LogLevel, level: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(threshold);
}

/** `logger` without the levels below `threshold`: those calls do nothing, at no cost. */
export function atLevel(logger: Logger, threshold: LogLevel): Logger {
  const pick = (level: LogLevel) => (levelEnabled(threshold, level) ? logger[level].bind(logger) : noop);
  return { debug: pick('debug'), info: pick('info'), warn: pick('warn'), error: pick('error') };
}

/**
 * Every level, as JSON lines: `{"level":"info","time":"<ISO 8601>","pid":…,"event":"…",…fields}`, fields
 * in the order given, undefined ones left out, numbers that are not finite written as null. The level is
 * chosen by the server (`logLevel`), so that one option decides it whoever made the logger.
 *
 * Formatted here rather than by pino's logger: one line per request is on the hot path, and this costs
 * about half of what pino's serialiser did there (docs/performance.md). Field names are our code's, plain
 * identifiers written as they are; any other name (an embedding program's) is escaped like a value.
 */
function jsonLinesLogger(write: (line: string) => void): Logger {
  const line = (level: LogLevel) => (event: string, fields?: LogFields) => {
    let text = `{"level":"${level}","time":"${isoTimeNow()}","pid":${process.pid},"event":${JSON.stringify(event)}`;
    if (fields !== undefined) {
      for (const name in fields) {
        const value = fields[name];
        if (value === undefined) continue;
        text += `,${PLAIN_NAME.test(name) ? `"${name}"` : JSON.stringify(name)}:${jsonValue(value)}`;
      }
    }
    write(`${text}}\n`);
  };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

/** A field name that needs no escaping in JSON. */
const PLAIN_NAME = /^[A-Za-z_][\w.]*$/;

function jsonValue(value: string | number | boolean | null): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return String(value);
}

/** The time as ISO 8601, made once per millisecond: a busy server writes many lines in each. */
let isoMillisecond = 0;
let isoText = '';

function isoTimeNow(): string {
  const now = Date.now();
  if (now !== isoMillisecond) {
    isoMillisecond = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** JSON lines handed to `write`, one call per line: for programs that embed the server, and tests. */
export function createJsonLogger(write: (line: string) => void): Logger {
  return jsonLinesLogger(write);
}

/**
 * The `serve` command's logger, on standard output. JSON lines are written straight to file descriptor 1
 * by pino's sonic-boom, asynchronously: lines that come while a write is in flight are held and written
 * together next, so a slow reader never holds up a request (measured against synchronous writes in
 * docs/performance.md); pino writes out what is held if the process exits. `pretty` is for people at a
 * terminal: time, level, event and `name=value` fields, formatted here (pino-pretty would bring a dozen
 * packages into the server for it).
 */
export function createStdoutLogger(format: LogFormat): ProcessLogger {
  if (format === 'pretty') {
    return {
      ...jsonLinesLogger((line) => process.stdout.write(prettyLine(line))),
      flush: async () => {},
    };
  }
  const destination = pino.destination({
    dest: 1,
    sync: false,
    minLength: 0,
    maxLength: HELD_AT_MOST,
    // Whole lines, at most PIPE_BUF bytes per write: workers share the pipe, and POSIX keeps such writes
    // whole, where larger ones may interleave with another writer's.
    maxWrite: 4096,
  });
  // A line logged after flush() is dropped: the stream is closing for the process to exit.
  let closing = false;
  const logger = jsonLinesLogger((line) => {
    if (!closing) destination.write(line);
  });
  return {
    ...logger,
    flush: () =>
      new Promise((resolve) => {
        closing = true;
        const stuck = setTimeout(resolve, FLUSH_WAIT_MS);
        destination.once('close', () => {
          clearTimeout(stuck);
          resolve();
        });
        destination.end();
      }),
  };
}

/** How long the last lines may take to reach standard output when the process stops. */
const FLUSH_WAIT_MS = 2000;

/**
 * Bytes of lines held while standard output does not take them (a stalled log collector): past this, new
 * lines are dropped rather than the process growing without bound or requests waiting for the log.
 */
const HELD_AT_MOST = 16 * 1024 * 1024;

/** `2026-12-02T04:21:03.123Z INFO  request method=GET route=clients status=200 …`, from a JSON line. */
function prettyLine(line: string): string {
  const { time, level, event, ...fields } = JSON.parse(line) as Record<string, unknown>;
  let text = `${String(time)} ${String(level).toUpperCase().padEnd(5)} ${String(event)}`;
  for (const [name, value] of Object.entries(fields)) {
    const shown = typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
    text += ` ${name}=${shown}`;
  }
  return `${text}\n`;
}
