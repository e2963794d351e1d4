import { type Environment, isEnvironment } from './domain/environment.js';
import { type LimitWindow, parseLimitWindows } from './limits/window-spec.js';
import { type Logger, silentLogger } from './log.js';
import type { ConnectionLimits } from './net/listener.js';
import { isCidr } from './net/trusted-proxies.js';
import { isPostgresUrl } from './store/store-location.js';

/** Options of `createPortcullisServer`. Every default is given here, where it is defined. */
export interface ServerOptions {
  /** Data directory: SQLite file, server secret, self-signed certificate. Default `./.portcullis`. */
  readonly dataDir?: string;
  /**
   * Where clients, keys and the audit trail live: a `postgres://` URL shared by many nodes. Default: the
   * SQLite file in the data directory.
   */
  readonly store?: string;
  /**
   * A `redis://` URL for what nodes share that is short-lived: rate-limit, token-limit and brute-force
   * counters, and the broadcast that tells every node of a change at once. Default: none (counters in
   * this process; changes read from the store's feed every `changePollMs`).
   */
  readonly cache?: string;
  /** Prefix of every Redis key and channel, so that deployments can share one Redis. Default `portcullis:`. */
  readonly cachePrefix?: string;
  /** Address to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** TCP port; 0 picks a free one. Default `8443`. */
  readonly port?: number;
  /** Which API keys this server accepts. Default `sandbox`. */
  readonly environment?: Environment;
  /** PEM certificate and key files; both or neither. Default: a self-signed pair in the data directory. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Base URL of the API behind the gateway. Default: none (other routes answer 404). */
  readonly upstream?: string;
  /** Upstream answer timeout in milliseconds. Default 30 000. */
  readonly upstreamTimeoutMs?: number;
  /** Access-token lifetime in seconds, unless the client sets its own. Default 3600, as MANGOPAY. */
  readonly tokenTtlSeconds?: number;
  /**
   * API calls allowed per client, as MANGOPAY counts them: `COUNT/WINDOW,…` or `off`.
   * Default `2300/15m,4500/30m,8800/1h,105600/24h`, MANGOPAY's own windows.
   */
  readonly rateLimits?: string;
  /**
   * Tokens a client may obtain per window, `COUNT/WINDOW,…` or `off`. Default `300/10m`: a fleet of 50
   * processes that reuse their tokens stays far below it; a client minting a token per call reaches it
   * within seconds.
   */
  readonly tokenLimit?: string;
  /**
   * Failed authentications allowed from one address for one ClientId, then from one address for any,
   * `COUNT/WINDOW,…` or `off`. Defaults `10/15m` and `100/15m`.
   */
  readonly failedAuthLimitPerClient?: string;
  readonly failedAuthLimitPerAddress?: string;
  /**
   * Revoke an API key or token at once when it arrives over plain HTTP (it is flagged as exposed either
   * way). Default false: flagging alone, since revoking can stop a client that leaked its key by mistake.
   */
  readonly revokeExposedKeys?: boolean;
  /**
   * Load balancers that terminate TLS in front of the server, as addresses or CIDR ranges: plain HTTP is
   * accepted from them only, and only with `X-Forwarded-Proto: https`. Default: none (TLS only).
   */
  readonly trustProxy?: readonly string[];
  /**
   * `--proxy-protocol`: connections from the `trustProxy` addresses start with a PROXY protocol header (v1
   * or v2, as TCP load balancers send it) naming the client, whose address is then counted; from those
   * addresses a connection without one is closed. Needs `trustProxy`. Default false.
   */
  readonly proxyProtocol?: boolean;
  /**
   * Bits of an IPv6 address that name one client for per-address counting (failed authentications,
   * connections per address): an IPv6 host usually holds a whole /64. IPv4 (and IPv4-mapped IPv6)
   * addresses count as themselves. Default 64.
   */
  readonly ipv6Prefix?: number;
  /** Open connections at most; more are refused at accept. Default 10 000. */
  readonly maxConnections?: number;
  /**
   * Open connections from one client address (per `ipv6Prefix` network for IPv6); more are closed at once.
   * Trusted proxies are exempt (with `proxyProtocol`, the clients they name are counted). Default 256:
   * server-to-server clients keep pools of a few connections per process, so a NAT with dozens of
   * processes behind it stays below it, while one host cannot fill `maxConnections` alone.
   */
  readonly maxConnectionsPerAddress?: number;
  /**
   * Time from accept to a completed TLS handshake (or to the first byte of a plain-HTTP request); slower
   * connections are closed. Default 10 000 ms (Node's own default is 120 s, and restarts with each byte).
   */
  readonly handshakeTimeoutMs?: number;
  /** Request line and headers, in bytes; larger gets 431. Default 16 384 (Node's). */
  readonly maxHeaderBytes?: number;
  /** Time to receive a request's headers; slower gets 408. Default 10 000 ms (slowloris). */
  readonly headersTimeoutMs?: number;
  /** Time to receive a whole request; slower gets 408. Default 30 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default 5 000 ms. */
  readonly keepAliveTimeoutMs?: number;
  /** How often to read the store's change feed, in milliseconds. Default 250 (CLI changes apply in < 1 s). */
  readonly changePollMs?: number;
  /** How long a store read may wait for a lock before the request is refused with 503. Default 5 000 ms. */
  readonly storeTimeoutMs?: number;
  /** How long in-flight requests may run after close() before they are cut, in milliseconds. Default 10 000. */
  readonly shutdownGraceMs?: number;
  /** Where structured log lines go. Default: nowhere. */
  readonly logger?: Logger;
}

/** MANGOPAY's own windows. */
export const DEFAULT_RATE_LIMITS = '2300/15m,4500/30m,8800/1h,105600/24h';
export const DEFAULT_TOKEN_LIMIT = '300/10m';
export const DEFAULT_FAILED_AUTH_LIMIT_PER_CLIENT = '10/15m';
export const DEFAULT_FAILED_AUTH_LIMIT_PER_ADDRESS = '100/15m';

export interface ResolvedServerOptions {
  readonly dataDir: string;
  readonly store: string | undefined;
  readonly cache: string | undefined;
  readonly cachePrefix: string;
  readonly host: string;
  readonly port: number;
  readonly environment: Environment;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly upstream: URL | undefined;
  readonly upstreamTimeoutMs: number;
  readonly tokenTtlSeconds: number;
  readonly rateLimits: readonly LimitWindow[];
  readonly tokenLimit: readonly LimitWindow[];
  readonly failedAuthLimitPerClient: readonly LimitWindow[];
  readonly failedAuthLimitPerAddress: readonly LimitWindow[];
  readonly revokeExposedKeys: boolean;
  readonly trustProxy: readonly string[];
  readonly proxyProtocol: boolean;
  readonly ipv6Prefix: number;
  readonly connectionLimits: ConnectionLimits;
  readonly changePollMs: number;
  readonly storeTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly logger: Logger;
}

export class OptionError extends Error {
  override name = 'OptionError';
}

/** Validates options on entry, naming the option at fault; the caller's object is never changed. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const environment = options.environment ?? 'sandbox';
  if (!isEnvironment(environment)) throw new OptionError('environment must be "sandbox" or "production"');
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new OptionError('tlsCert and tlsKey must be given together');
  }
  if (options.proxyProtocol === true && (options.trustProxy ?? []).length === 0) {
    throw new OptionError(
      'proxyProtocol (--proxy-protocol) needs trustProxy (--trust-proxy): the load balancers that send the header',
    );
  }
  if ((options.headersTimeoutMs ?? 10_000) > (options.requestTimeoutMs ?? 30_000)) {
    throw new OptionError('headersTimeoutMs must not exceed requestTimeoutMs');
  }
  return Object.freeze({
    dataDir: nonEmpty('dataDir', options.dataDir ?? './.portcullis'),
    store: options.store === undefined ? undefined : storeUrl(options.store),
    cache: options.cache === undefined ? undefined : cacheUrl(options.cache),
    cachePrefix: nonEmpty('cachePrefix', options.cachePrefix ?? 'portcullis:'),
    host: nonEmpty('host', options.host ?? '127.0.0.1'),
    port: integer('port', options.port ?? 8443, 0, 65_535),
    environment,
    tlsCert: options.tlsCert,
    tlsKey: options.tlsKey,
    upstream: options.upstream === undefined ? undefined : upstreamUrl(options.upstream),
    upstreamTimeoutMs: integer('upstreamTimeoutMs', options.upstreamTimeoutMs ?? 30_000, 1, 600_000),
    tokenTtlSeconds: integer('tokenTtlSeconds', options.tokenTtlSeconds ?? 3600, 1, 86_400),
    rateLimits: limitWindows('rateLimits', options.rateLimits ?? DEFAULT_RATE_LIMITS),
    tokenLimit: limitWindows('tokenLimit', options.tokenLimit ?? DEFAULT_TOKEN_LIMIT),
    failedAuthLimitPerClient: limitWindows(
      'failedAuthLimitPerClient',
      options.failedAuthLimitPerClient ?? DEFAULT_FAILED_AUTH_LIMIT_PER_CLIENT,
    ),
    failedAuthLimitPerAddress: limitWindows(
      'failedAuthLimitPerAddress',
      options.failedAuthLimitPerAddress ?? DEFAULT_FAILED_AUTH_LIMIT_PER_ADDRESS,
    ),
    revokeExposedKeys: boolean('revokeExposedKeys', options.revokeExposedKeys ?? false),
    trustProxy: cidrs('trustProxy', options.trustProxy ?? []),
    proxyProtocol: boolean('proxyProtocol', options.proxyProtocol ?? false),
    ipv6Prefix: integer('ipv6Prefix', options.ipv6Prefix ?? 64, 1, 128),
    connectionLimits: Object.freeze({
      maxConnections: integer('maxConnections', options.maxConnections ?? 10_000, 1, 1_000_000),
      maxConnectionsPerAddress: integer(
        'maxConnectionsPerAddress',
        options.maxConnectionsPerAddress ?? 256,
        1,
        1_000_000,
      ),
      handshakeTimeoutMs: integer('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 10_000, 100, 120_000),
      maxHeaderBytes: integer('maxHeaderBytes', options.maxHeaderBytes ?? 16_384, 1024, 1_048_576),
      headersTimeoutMs: integer('headersTimeoutMs', options.headersTimeoutMs ?? 10_000, 100, 600_000),
      requestTimeoutMs: integer('requestTimeoutMs', options.requestTimeoutMs ?? 30_000, 100, 3_600_000),
      keepAliveTimeoutMs: integer('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? 5_000, 100, 600_000),
    }),
    changePollMs: integer('changePollMs', options.changePollMs ?? 250, 10, 60_000),
    storeTimeoutMs: integer('storeTimeoutMs', options.storeTimeoutMs ?? 5000, 0, 60_000),
    shutdownGraceMs: integer('shutdownGraceMs', options.shutdownGraceMs ?? 10_000, 0, 600_000),
    logger: options.logger ?? silentLogger,
  });
}

export function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function cidrs(name: string, values: readonly string[]): readonly string[] {
  if (!Array.isArray(values) || !values.every((value) => typeof value === 'string' && isCidr(value))) {
    throw new OptionError(`${name} must be IP addresses or CIDR ranges such as 10.0.0.0/8`);
  }
  return Object.freeze([...values]);
}

function boolean(name: string, value: boolean): boolean {
  if (typeof value !== 'boolean') throw new OptionError(`${name} must be true or false`);
  return value;
}

function nonEmpty(name: string, value: string): string {
  if (typeof value !== 'string' || value === '') throw new OptionError(`${name} must be a non-empty string`);
  return value;
}

function limitWindows(name: string, value: string): LimitWindow[] {
  try {
    return parseLimitWindows(name, value);
  } catch (error) {
    throw new OptionError((error as Error).message);
  }
}

function storeUrl(value: string): string {
  if (typeof value !== 'string' || !isPostgresUrl(value) || !URL.canParse(value)) {
    throw new OptionError('store must be a postgres:// URL');
  }
  return value;
}

function cacheUrl(value: string): string {
  if (typeof value !== 'string' || !/^rediss?:\/\//.test(value) || !URL.canParse(value)) {
    throw new OptionError('cache must be a redis:// or rediss:// URL');
  }
  return value;
}

function upstreamUrl(value: string): URL {
  if (!URL.canParse(value)) throw new OptionError('upstream must be an http:// or https:// URL');
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OptionError('upstream must be an http:// or https:// URL');
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new OptionError('upstream must not carry a query, fragment or credentials');
  }
  return url;
}
