import { Counter, collectDefaultMetrics, Gauge, type Histogram, Registry } from 'prom-client';
import { RequestTallies } from './request-tallies.js';

/**
 * Every metric of `GET /metrics`, in one place: names, help, labels and buckets. Names follow
 * Prometheus's conventions (`portcullis_` prefix, base units, `_total` for counters, `_seconds` for
 * durations). No label holds a credential; `client_id` (a ClientId, which is not secret) is only there
 * with `metricsPerClient`, as it makes one series per client.
 *
 * Each metric states how `--workers N` merges the processes' values (prom-client's `aggregator`): counts
 * add up; a part is up only if it is up in every process (`min`); the change feed's lag is the worst
 * process's (`max`).
 */

/** prom-client's process metrics that are gauges with a counter's `_total` suffix. */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Request duration buckets, in seconds: sub-millisecond local answers up to a slow upstream. */
export const DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** The limits whose refusals are counted (`limit` label). */
export type LimitName = 'rate' | 'token' | 'failed_authentication';

/** The metrics that the server's parts record into; the rest are read when scraped. */
export interface MetricSet {
  readonly registry: Registry;
  /**
   * `portcullis_http_requests_total{listener, route, status_class[, client_id]}`: requests answered, by
   * listener (`public`, `admin`), route name (`none` for a request no route took) and status class
   * (`2xx`…`5xx`; a request whose connection closed before the answer was complete counts as `4xx`, the
   * 499 of the access line); and `portcullis_http_request_duration_seconds{listener, route}`, from the
   * request's arrival to the end of its answer. Tallied apart (request-tallies.ts), for speed.
   */
  readonly requests: RequestTallies;
  /** `portcullis_tokens_issued_total[{client_id}]`: access tokens issued by the token endpoint. */
  readonly tokensIssued: Counter<string>;
  /**
   * `portcullis_authentication_failures_total{reason}`: credentials refused, by the stable reason of the
   * check (`AUTHENTICATION_FAILURE_REASONS`), never the credentials.
   */
  readonly authenticationFailures: Counter<string>;
  /** `portcullis_limit_refusals_total{limit}`: 429 answers, by limit (`rate`, `token`, `failed_authentication`). */
  readonly limitRefusals: Counter<string>;
}

export interface MetricSetOptions {
  /** Adds the `client_id` label to requests and tokens issued. */
  readonly perClient: boolean;
  readonly withCache: boolean;
  /**
   * Read at each scrape: the parts that are not ready (`Readiness.unready`). Its probes are shared with
   * /readyz and reused for a second, so that a scrape costs at most one store query and one cache ping.
   */
  readonly unready: () => Promise<readonly string[]>;
  /** When the change feed was last read successfully (`Date.now()` time). */
  readonly feedReadAt: () => number;
  /**
   * Read at each scrape: the keys each limit of this process has forgotten so far. Only for a process
   * that holds its counts: where they live elsewhere (Redis, or the primary of `--workers N`, which
   * reports its own), a series at 0 here would read as a counter reset whenever the real one was missing.
   */
  readonly limitKeysForgotten?: () => Readonly<Record<LimitName, number>>;
}

/**
 * A registry of its own per server (never prom-client's global one, which every server of a process
 * would share), with Node's process metrics (`process_*`, `nodejs_*`: their usual names, which
 * dashboards expect, hence no prefix).
 */
export function createMetricSet({
  perClient,
  withCache,
  unready,
  feedReadAt,
  limitKeysForgotten,
}: MetricSetOptions): MetricSet {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named as counters (`_total`), which promtool's lint refuses; their `type`-labelled
  // counterparts without the suffix (`nodejs_active_handles{type}`…) say the same.
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const clientLabel = perClient ? ['client_id'] : [];
  const requests = new RequestTallies(DURATION_BUCKETS, perClient);
  new Counter({
    name: 'portcullis_http_requests_total',
    help: 'HTTP requests answered, by listener, route and status class.',
    labelNames: ['listener', 'route', 'status_class', ...clientLabel],
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.reset();
      for (const { labels, value } of requests.counts()) this.inc(labels, value);
    },
  });
  registry.registerMetric(
    tallyHistogram(
      'portcullis_http_request_duration_seconds',
      'Time from the arrival of a request to the end of its answer, by listener and route.',
      requests,
    ),
  );
  const tokensIssued = new Counter({
    name: 'portcullis_tokens_issued_total',
    help: 'Access tokens issued by the token endpoint.',
    labelNames: clientLabel,
    registers: [registry],
    aggregator: 'sum',
  });
  const authenticationFailures = new Counter({
    name: 'portcullis_authentication_failures_total',
    help: 'Credentials refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    aggregator: 'sum',
  });
  const limitRefusals = new Counter({
    name: 'portcullis_limit_refusals_total',
    help: 'Requests refused by a limit (429), by limit.',
    labelNames: ['limit'],
    registers: [registry],
    aggregator: 'sum',
  });
  if (limitKeysForgotten !== undefined) registerLimitKeysForgotten(registry, limitKeysForgotten);
  new Gauge({
    name: 'portcullis_store_up',
    help: 'Whether the store answers (1) or not (0); across workers, 0 if any worker fails to reach it.',
    registers: [registry],
    aggregator: 'min',
    async collect() {
      this.set((await unready()).includes('store') ? 0 : 1);
    },
  });
  if (withCache) {
    new Gauge({
      name: 'portcullis_cache_up',
      help: 'Whether the cache answers (1) or not (0); across workers, 0 if any worker fails to reach it.',
      registers: [registry],
      aggregator: 'min',
      async collect() {
        this.set((await unready()).includes('cache') ? 0 : 1);
      },
    });
  }
  new Gauge({
    name: 'portcullis_change_feed_lag_seconds',
    help: 'Seconds since the change feed was last read; across workers, the largest.',
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.set(Math.max(0, Date.now() - feedReadAt()) / 1000);
    },
  });
  // Each process counts itself once: summed across workers, the number that answered.
  new Gauge({
    name: 'portcullis_workers_reporting',
    help: 'Server processes whose numbers this answer holds.',
    registers: [registry],
    aggregator: 'sum',
  }).set(1);
  return { registry, requests, tokensIssued, authenticationFailures, limitRefusals };
}

/**
 * `portcullis_limit_keys_forgotten_total{limit}`: keys (clients; addresses for failed authentications)
 * whose counts a limit dropped for want of room while a window of theirs was current, so that it counted
 * them afresh. Above 0, more keys are active within the longest window than the counters hold
 * (fixed-windows.ts). Registered where the counts live: by a server process counting its own, and by the
 * primary of `--workers N` without a cache. Redis forgets none, and with `--cache` there is no series.
 */
export function registerLimitKeysForgotten(
  registry: Registry,
  read: () => Readonly<Record<LimitName, number>>,
): void {
  new Counter({
    name: 'portcullis_limit_keys_forgotten_total',
    help: 'Keys whose limit counts were dropped for want of room while current, by limit.',
    labelNames: ['limit'],
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.reset();
      for (const [limit, count] of Object.entries(read())) this.inc({ limit }, count);
    },
  });
}

/**
 * The duration histogram, written from the tallies when scraped, in the shape of prom-client's own
 * `Histogram` (whose `observe` is what the tallies avoid), so that its registry writes it and its cluster
 * aggregation sums it alike.
 */
function tallyHistogram(name: string, help: string, tallies: RequestTallies): Histogram<string> {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', values: tallies.durations(name), aggregator: 'sum' }),
    reset: () => undefined,
  };
  // A registry takes any metric with these members; its types name only prom-client's own classes.
  return metric as unknown as Histogram<string>;
}

/**
 * The reasons of `portcullis_authentication_failures_total`: those of the credential checks. Any other
 * reason a check gives (the many ways a Basic header fails to parse) is counted as `malformed`, so that
 * the label stays a short fixed list.
 */
export const AUTHENTICATION_FAILURE_REASONS: ReadonlySet<string> = new Set([
  'malformed',
  'malformed_key',
  'wrong_environment',
  'unknown_client',
  'unknown_key',
  'key_revoked_or_expired',
  'client_disabled',
  'expired',
  'revoked',
  'not_introspector',
  'unknown_admin_token',
]);
