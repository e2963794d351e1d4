import { type DestinationStream, pino } from 'pino';

/**
 * Structured logging: one JSON object per line, written by pino. Callers pass ids and fingerprints, never
 * a key, a token or an Authorization value; the fields are written as given. Nothing outside this file
 * knows pino: the rest of the server sees `Logger`.
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
  flush(): void;
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
 * Every level, as JSON lines: `{"level":"info","time":"<ISO 8601>","pid":…,"event":"…",…fields}`. The
 * level is chosen by the server (`logLevel`), so that one option decides it whoever made the logger.
 */
function pinoLogger(destination: DestinationStream): Logger {
  const writer = pino(
    {
      level: 'debug',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    debug: (event, fields) => writer.debug({ event, ...fields }),
    info: (event, fields) => writer.info({ event, ...fields }),
    warn: (event, fields) => writer.warn({ event, ...fields }),
    error: (event, fields) => writer.error({ event, ...fields }),
  };
}

/** JSON lines handed to `write`, one call per line: for programs that embed the server, and tests. */
export function createJsonLogger(write: (line: string) => void): Logger {
  return pinoLogger({ write });
}

/**
 * The `serve` command's logger, on standard output. JSON lines are written straight to file descriptor 1
 * (pino's sonic-boom); `sync: false` buffers while a write is in flight, and `flush()` (also run by pino
 * when the process exits) writes out what is held. `pretty` is for people at a terminal: one line per
 * event, time, level, event and `name=value` fields, formatted here (pino-pretty would bring a dozen
 * packages into the server for it).
 */
export function createStdoutLogger(format: LogFormat, sync: boolean): ProcessLogger {
  if (format === 'pretty') {
    return { ...pinoLogger({ write: (line) => process.stdout.write(prettyLine(line)) }), flush: noop };
  }
  const destination = pino.destination({ dest: 1, sync, minLength: 0 });
  return {
    ...pinoLogger(destination),
    flush: () => {
      if (!sync) destination.flushSync();
    },
  };
}

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
