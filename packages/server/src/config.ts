import { atLevel, LOG_LEVELS, type Logger, levelEnabled, silentLogger } from './log.js';
import type { ConnectionLimits } from './net/listener.js';
import { OptionError } from './options/option-error.js';
import type { InputOf } from './options/option-row.js';
import { SERVER_OPTIONS, type ServerOptionTable } from './options/server-option-table.js';

export { OptionError };

/**
 * Options of `createPortcullisServer`: one per row of the option table (`options/server-option-table.ts`,
 * where each is documented with its default, flag and variable), and where log lines go.
 */
export type ServerOptions = {
  readonly [Field in keyof ServerOptionTable]?: InputOf<ServerOptionTable[Field]>;
} & {
  /** Where structured log lines go, those of `logLevel` and above. Default: nowhere. */
  readonly logger?: Logger;
  /**
   * The server secrets, base64url (each at least 32 bytes), current first, as `PORTCULLIS_SECRETS` gives
   * them to `serve`. Over `secretsFile` and the data directory's file. Kept out of the resolved options,
   * which are shown and logged; checked when the server starts (`keys/server-secret.ts`).
   */
  readonly secrets?: readonly string[];
};

type ResolvedFields = {
  readonly [Field in keyof ServerOptionTable]: ReturnType<ServerOptionTable[Field]['resolve']>;
};

export interface ResolvedServerOptions extends Omit<ResolvedFields, keyof ConnectionLimits> {
  readonly connectionLimits: ConnectionLimits;
  /** The given logger, without the levels below `logLevel`. */
  readonly logger: Logger;
  /** Whether a line is written per request: a logger was given and `logLevel` takes in `info`. */
  readonly accessLog: boolean;
}

/** The fields the listener takes together, as `connectionLimits`; the type makes the list complete. */
const CONNECTION_LIMITS: Readonly<Record<keyof ConnectionLimits, true>> = {
  maxConnections: true,
  maxConnectionsPerAddress: true,
  handshakeTimeoutMs: true,
  maxHeaderBytes: true,
  headersTimeoutMs: true,
  requestTimeoutMs: true,
  keepAliveTimeoutMs: true,
};

/** Validates options on entry, naming the option at fault; the caller's object is never changed. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const given: Readonly<Record<string, unknown>> = options;
  const fields: Record<string, unknown> = {};
  const limits: Record<string, unknown> = {};
  for (const [field, row] of Object.entries(SERVER_OPTIONS)) {
    (Object.hasOwn(CONNECTION_LIMITS, field) ? limits : fields)[field] = row.resolve(given[field], field);
  }
  // Each row checked its own field: the rows' types are what these hold.
  const resolved = fields as Omit<ResolvedFields, keyof ConnectionLimits>;
  const connectionLimits = Object.freeze(limits) as unknown as ConnectionLimits;
  checkTogether(resolved, connectionLimits);
  const { logger } = options;
  if (logger !== undefined && !isLogger(logger)) {
    throw new OptionError(`logger must have the methods ${LOG_LEVELS.join(', ')}`);
  }
  return Object.freeze({
    ...resolved,
    connectionLimits,
    logger: logger === undefined ? silentLogger : atLevel(logger, resolved.logLevel),
    accessLog: logger !== undefined && levelEnabled(resolved.logLevel, 'info'),
  });
}

/** A program's own logger, checked as any other option: a missing level would fail on its first line. */
function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const methods: Readonly<Record<string, unknown>> = value as Readonly<Record<string, unknown>>;
  return LOG_LEVELS.every((level) => typeof methods[level] === 'function');
}

/** The rules between options, named both ways (see `OptionRow.resolve`). */
function checkTogether(
  fields: Omit<ResolvedFields, keyof ConnectionLimits>,
  { headersTimeoutMs, requestTimeoutMs }: ConnectionLimits,
): void {
  if ((fields.tlsCert === undefined) !== (fields.tlsKey === undefined)) {
    throw new OptionError('tlsCert and tlsKey must be given together (--tls-cert and --tls-key)');
  }
  if (fields.proxyProtocol && fields.trustProxy.length === 0) {
    throw new OptionError(
      'proxyProtocol (--proxy-protocol) needs trustProxy (--trust-proxy): the load balancers that send the header',
    );
  }
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new OptionError(
      'headersTimeoutMs must not exceed requestTimeoutMs (--headers-timeout-ms, --request-timeout-ms)',
    );
  }
}
