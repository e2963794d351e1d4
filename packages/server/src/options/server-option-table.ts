import { environments } from '../domain/environment.js';
import { LOG_FORMATS, LOG_LEVELS } from '../log.js';
import { isPostgresUrl } from '../store/store-location.js';
import {
  addressesOption,
  choiceOption,
  integerOption,
  limitsOption,
  optionalOption,
  portOrOffOption,
  switchOption,
  textOption,
} from './option-row.js';

/**
 * Every option of `createPortcullisServer`, each with its `serve` flag and `PORTCULLIS_*` variable; every
 * default is given here, where it is defined. `ServerOptions` (config.ts) is made of these rows, the CLI's
 * flags are built from them, and the README's option table must list them (test/option-table.test.ts).
 */
export const SERVER_OPTIONS = {
  /** Data directory: SQLite file, server secret, self-signed certificate. */
  dataDir: textOption({
    flag: '--data-dir',
    placeholder: '<dir>',
    env: 'PORTCULLIS_DATA_DIR',
    default: './.portcullis',
    help: 'data directory (SQLite store, server secret, TLS certificate)',
  }),
  /**
   * The server secrets, one a line, current first (a private file, mode 0600): every node and operator
   * machine of a cluster needs the same. The secrets themselves are never a flag, which `ps` would show:
   * they come from this file, from `PORTCULLIS_SECRETS`, or from the `secrets` option of the API.
   */
  secretsFile: optionalOption({
    flag: '--secrets-file',
    placeholder: '<file>',
    env: 'PORTCULLIS_SECRETS_FILE',
    defaultText: "the data directory's server-secret",
    help: 'server secrets, one a line, current first, for every node and the CLI; PORTCULLIS_SECRETS wins',
  }),
  /** Where clients, keys and the audit trail live: a `postgres://` URL shared by many nodes. */
  store: optionalOption({
    flag: '--store',
    placeholder: '<url>',
    env: 'PORTCULLIS_STORE',
    defaultText: 'the SQLite file in the data directory',
    help: 'a postgres:// URL shared by many nodes',
    accepts: (value) => isPostgresUrl(value) && URL.canParse(value),
    rule: 'must be a postgres:// URL',
  }),
  /**
   * A `redis://` URL for what nodes share that is short-lived: rate-limit, token-limit and brute-force
   * counters, and the broadcast that tells every node of a change at once. Without it, counters live in
   * this process and changes are read from the store's feed every `changePollMs`.
   */
  cache: optionalOption({
    flag: '--cache',
    placeholder: '<url>',
    env: 'PORTCULLIS_CACHE',
    defaultText: 'none',
    help: 'a redis:// URL: shared limit counters, and changes announced to every node at once',
    accepts: (value) => /^rediss?:\/\//.test(value) && URL.canParse(value),
    rule: 'must be a redis:// or rediss:// URL',
  }),
  /** Prefix of every Redis key and channel, so that deployments can share one Redis. */
  cachePrefix: textOption({
    flag: '--cache-prefix',
    placeholder: '<prefix>',
    env: 'PORTCULLIS_CACHE_PREFIX',
    default: 'portcullis:',
    help: 'prefix of every Redis key and channel',
  }),
  host: textOption({
    flag: '--host',
    placeholder: '<host>',
    env: 'PORTCULLIS_HOST',
    default: '127.0.0.1',
    help: 'address to listen on',
  }),
  port: integerOption({
    flag: '--port',
    placeholder: '<port>',
    env: 'PORTCULLIS_PORT',
    default: 8443,
    min: 0,
    max: 65_535,
    help: 'TCP port; 0 picks a free one',
  }),
  /**
   * The admin listener: the dashboard, the admin API, /metrics and the health probes, over HTTPS with the same
   * certificate. Apart from the public port so that it can stay on a private network; `off` turns it off.
   */
  adminHost: textOption({
    flag: '--admin-host',
    placeholder: '<host>',
    env: 'PORTCULLIS_ADMIN_HOST',
    default: '127.0.0.1',
    help: 'address of the admin listener (dashboard, admin API, metrics, health)',
  }),
  adminPort: portOrOffOption({
    flag: '--admin-port',
    placeholder: '<port|off>',
    env: 'PORTCULLIS_ADMIN_PORT',
    default: 8444,
    help: 'TCP port of the admin listener; 0 picks a free one, off turns it off',
  }),
  /**
   * Adds a `client_id` label to the request and token counters of `/metrics`: one series per client and
   * route, so off by default (a time series database pays per series).
   */
  metricsPerClient: switchOption({
    flag: '--metrics-per-client',
    env: 'PORTCULLIS_METRICS_PER_CLIENT',
    help: 'label request and token metrics with the ClientId (one series per client: mind the cardinality)',
  }),
  /** Which API keys this server accepts. */
  environment: choiceOption({
    flag: '--env',
    placeholder: '<environment>',
    env: 'PORTCULLIS_ENV',
    default: 'sandbox',
    choices: environments,
    help: 'environment of the server and its API keys',
  }),
  /** PEM certificate and key files; both or neither. Default: a self-signed pair in the data directory. */
  tlsCert: optionalOption({
    flag: '--tls-cert',
    placeholder: '<file>',
    env: 'PORTCULLIS_TLS_CERT',
    defaultText: 'self-signed, made once',
    help: 'PEM certificate',
  }),
  tlsKey: optionalOption({
    flag: '--tls-key',
    placeholder: '<file>',
    env: 'PORTCULLIS_TLS_KEY',
    defaultText: 'self-signed, made once',
    help: 'PEM private key for --tls-cert',
  }),
  /** Base URL of the API behind the gateway. Without it, other routes answer 404. */
  upstream: optionalOption({
    flag: '--upstream',
    placeholder: '<url>',
    env: 'PORTCULLIS_UPSTREAM',
    defaultText: 'none',
    help: 'API to forward authenticated requests to',
    accepts: (value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol),
    rule: 'must be an http:// or https:// URL',
    convert: (value, refusal) => {
      const url = new URL(value);
      if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
        throw refusal('must not carry a query, fragment or credentials');
      }
      return url;
    },
  }),
  upstreamTimeoutMs: integerOption({
    flag: '--upstream-timeout-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_UPSTREAM_TIMEOUT_MS',
    default: 30_000,
    min: 1,
    max: 600_000,
    help: 'time the upstream API has to answer; then 502',
  }),
  /** Access-token lifetime in seconds, unless the client sets its own; MANGOPAY's is an hour. */
  tokenTtlSeconds: integerOption({
    flag: '--token-ttl',
    placeholder: '<seconds>',
    env: 'PORTCULLIS_TOKEN_TTL',
    default: 3600,
    min: 1,
    max: 86_400,
    help: 'access-token lifetime, unless the client has its own',
  }),
  /** API calls allowed per client, as MANGOPAY counts them; the default is MANGOPAY's own windows. */
  rateLimits: limitsOption({
    flag: '--rate-limits',
    placeholder: '<windows>',
    env: 'PORTCULLIS_RATE_LIMITS',
    default: '2300/15m,4500/30m,8800/1h,105600/24h',
    help: 'API calls per client: COUNT/WINDOW,… or off',
  }),
  /**
   * Tokens a client may obtain per window: a fleet of 50 processes that reuse their tokens stays far
   * below the default; a client minting a token per call reaches it within seconds.
   */
  tokenLimit: limitsOption({
    flag: '--token-limit',
    placeholder: '<windows>',
    env: 'PORTCULLIS_TOKEN_LIMIT',
    default: '300/10m',
    help: 'tokens per client: COUNT/WINDOW,… or off',
  }),
  /** Failed authentications allowed from one address for one ClientId. */
  failedAuthLimitPerClient: limitsOption({
    flag: '--failed-auth-limit-per-client',
    placeholder: '<windows>',
    env: 'PORTCULLIS_FAILED_AUTH_LIMIT_PER_CLIENT',
    default: '10/15m',
    help: 'failed authentications per address and ClientId: COUNT/WINDOW,… or off',
  }),
  /** Failed authentications allowed from one address for any ClientId. */
  failedAuthLimitPerAddress: limitsOption({
    flag: '--failed-auth-limit-per-address',
    placeholder: '<windows>',
    env: 'PORTCULLIS_FAILED_AUTH_LIMIT_PER_ADDRESS',
    default: '100/15m',
    help: 'failed authentications per address: COUNT/WINDOW,… or off',
  }),
  /**
   * Revoke an API key or token at once when it arrives over plain HTTP (it is flagged as exposed either
   * way). Off by default: flagging alone, since revoking can stop a client that leaked its key by mistake.
   */
  revokeExposedKeys: switchOption({
    flag: '--revoke-exposed-keys',
    env: 'PORTCULLIS_REVOKE_EXPOSED_KEYS',
    help: 'revoke an API key or token at once when it arrives over plain HTTP (it is flagged either way)',
  }),
  /**
   * Load balancers that terminate TLS in front of the server, as addresses or CIDR ranges: plain HTTP is
   * accepted from them only, and only with `X-Forwarded-Proto: https`. Default: none (TLS only).
   */
  trustProxy: addressesOption({
    flag: '--trust-proxy',
    placeholder: '<cidr...>',
    env: 'PORTCULLIS_TRUST_PROXY',
    defaultText: 'none',
    help: 'load balancers: plain HTTP is served from these addresses only, with X-Forwarded-Proto: https; X-Forwarded-For (or, with --proxy-protocol, the PROXY header) names the client',
  }),
  /**
   * Connections from the `trustProxy` addresses start with a PROXY protocol header (v1 or v2, as TCP load
   * balancers send it) naming the client, whose address is then counted; from those addresses a
   * connection without one is closed. Needs `trustProxy`.
   */
  proxyProtocol: switchOption({
    flag: '--proxy-protocol',
    env: 'PORTCULLIS_PROXY_PROTOCOL',
    help: 'connections from --trust-proxy addresses start with a PROXY protocol v1/v2 header naming the client',
  }),
  /**
   * Bits of an IPv6 address that name one client for per-address counting (failed authentications,
   * connections per address): an IPv6 host usually holds a whole /64. IPv4 (and IPv4-mapped IPv6)
   * addresses count as themselves.
   */
  ipv6Prefix: integerOption({
    flag: '--ipv6-prefix',
    placeholder: '<bits>',
    env: 'PORTCULLIS_IPV6_PREFIX',
    default: 64,
    min: 1,
    max: 128,
    help: 'IPv6 clients are counted per network of this many bits',
  }),
  /** Open connections at most; more are refused at accept. */
  maxConnections: integerOption({
    flag: '--max-connections',
    placeholder: '<count>',
    env: 'PORTCULLIS_MAX_CONNECTIONS',
    default: 10_000,
    min: 1,
    max: 1_000_000,
    help: 'open connections at most; more are refused',
  }),
  /**
   * Open connections from one client address (per `ipv6Prefix` network for IPv6); more are closed at once.
   * Trusted proxies are exempt (with `proxyProtocol`, the clients they name are counted). The default lets
   * a NAT with dozens of processes behind it, each with a small pool, stay below it, while one host cannot
   * fill `maxConnections` alone.
   */
  maxConnectionsPerAddress: integerOption({
    flag: '--max-connections-per-address',
    placeholder: '<count>',
    env: 'PORTCULLIS_MAX_CONNECTIONS_PER_ADDRESS',
    default: 256,
    min: 1,
    max: 1_000_000,
    help: 'open connections per client address',
  }),
  /**
   * Time from accept to a completed TLS handshake (or to the first byte of a plain-HTTP request); slower
   * connections are closed. Node's own default is 120 s, and restarts with each byte.
   */
  handshakeTimeoutMs: integerOption({
    flag: '--handshake-timeout-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_HANDSHAKE_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    max: 120_000,
    help: 'time from accept to a completed TLS handshake',
  }),
  /** Request line and headers, in bytes; larger gets 431. The default is Node's. */
  maxHeaderBytes: integerOption({
    flag: '--max-header-bytes',
    placeholder: '<bytes>',
    env: 'PORTCULLIS_MAX_HEADER_BYTES',
    default: 16_384,
    min: 1024,
    max: 1_048_576,
    help: 'request line and headers at most; larger gets 431',
  }),
  /** Time to receive a request's headers; slower gets 408 (against slowloris). */
  headersTimeoutMs: integerOption({
    flag: '--headers-timeout-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_HEADERS_TIMEOUT_MS',
    default: 10_000,
    min: 100,
    max: 600_000,
    help: "time to receive a request's headers; slower gets 408",
  }),
  requestTimeoutMs: integerOption({
    flag: '--request-timeout-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_REQUEST_TIMEOUT_MS',
    default: 30_000,
    min: 100,
    max: 3_600_000,
    help: 'time to receive a whole request; slower gets 408',
  }),
  keepAliveTimeoutMs: integerOption({
    flag: '--keep-alive-timeout-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_KEEP_ALIVE_TIMEOUT_MS',
    default: 5_000,
    min: 100,
    max: 600_000,
    help: 'idle keep-alive connections are closed after this',
  }),
  /** How often to read the store's change feed; the default applies CLI changes within a second. */
  changePollMs: integerOption({
    flag: '--change-poll-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_CHANGE_POLL_MS',
    default: 250,
    min: 10,
    max: 60_000,
    help: "how often to read the store's change feed",
  }),
  /** How long a store read may wait for a lock before the request is refused with 503. */
  storeTimeoutMs: integerOption({
    flag: '--store-timeout-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_STORE_TIMEOUT_MS',
    default: 5000,
    min: 0,
    max: 60_000,
    help: 'time a store read may wait for a lock; then 503',
  }),
  /** How long in-flight requests may run after close() (or SIGTERM) before they are cut. */
  shutdownGraceMs: integerOption({
    flag: '--shutdown-grace-ms',
    placeholder: '<ms>',
    env: 'PORTCULLIS_SHUTDOWN_GRACE_MS',
    default: 10_000,
    min: 0,
    max: 600_000,
    help: 'time in-flight requests may run after SIGTERM before they are cut',
  }),
  /**
   * The least severe lines written: `info` has one access line per request, `warn` keeps refusals
   * (401, 403, 429) and faults, `error` faults alone, `debug` adds the cause of every other refusal.
   */
  logLevel: choiceOption({
    flag: '--log-level',
    placeholder: '<level>',
    env: 'PORTCULLIS_LOG_LEVEL',
    default: 'info',
    choices: LOG_LEVELS,
    help: 'least severe log lines written: error, warn, info (one line per request) or debug',
  }),
  /**
   * How `serve` writes its log on standard output: JSON lines for log shippers, or `pretty` for people.
   * JSON even on a terminal, so that what an operator sees is what the shipper gets. A program that
   * passes its own `logger` chooses its own format.
   */
  logFormat: choiceOption({
    flag: '--log-format',
    placeholder: '<format>',
    env: 'PORTCULLIS_LOG_FORMAT',
    default: 'json',
    choices: LOG_FORMATS,
    help: 'log lines as json (one object per line) or pretty (for people)',
  }),
};

export type ServerOptionTable = typeof SERVER_OPTIONS;
