import {
  AUTHENTICATION_FAILURE_REASONS,
  createMetricSet,
  type LimitName,
  type MetricSet,
  type MetricSetOptions,
} from './definitions.js';
import type { RequestMetrics } from './request-tallies.js';
import { aggregateSnapshots, type MetricsPeers, type MetricsSnapshot, type PeerReport } from './snapshots.js';
import {
  mergeTraffic,
  TRAFFIC_INTERVAL_MS,
  TRAFFIC_SLOTS,
  TrafficHistory,
  type TrafficStats,
} from './traffic-history.js';

export type { RequestMetrics } from './request-tallies.js';
export type { TrafficPoint, TrafficStats } from './traffic-history.js';

/** Whether a part the server depends on answers; `none` for a cache that is not configured. */
export type PartHealth = 'up' | 'down' | 'none';

/** The dashboard's overview (`GET /admin/v1/stats`): recent traffic of every process, and health. */
export interface Overview {
  readonly traffic: TrafficStats;
  readonly store: Exclude<PartHealth, 'none'>;
  readonly cache: PartHealth;
}

/** A scrape's answer, in Prometheus's text format. */
export interface Exposition {
  readonly contentType: string;
  readonly body: string;
}

/**
 * What the parts of the server record for `GET /metrics`. With the admin listener off there is nothing
 * to scrape, and `NO_METRICS` records nothing (the benchmark compares the two).
 */
export interface Metrics {
  /** The recording of `listener`'s requests; undefined when metrics are off, so that nothing is hooked. */
  requestsOf(listener: string): RequestMetrics | undefined;
  tokenIssued(clientId: string): void;
  /** `reason`: the credential check's stable reason code (never anything of the credentials). */
  authenticationFailed(reason: string): void;
  limitRefused(limit: LimitName): void;
  /** Every process's numbers (`--workers N`), merged; this process's alone otherwise. */
  scrape(): Promise<Exposition>;
  /** Every process's traffic over the last hour (`--workers N`), slot by slot, and this one's health. */
  overview(): Promise<Overview>;
  /** Stops sampling the traffic (the server is closing). */
  stop(): void;
}

export const NO_METRICS: Metrics = {
  requestsOf: () => undefined,
  tokenIssued: () => undefined,
  authenticationFailed: () => undefined,
  limitRefused: () => undefined,
  scrape: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' }),
  overview: () =>
    Promise.resolve({
      traffic: { intervalMs: TRAFFIC_INTERVAL_MS, points: [], workers: 0 },
      store: 'up',
      cache: 'none',
    }),
  stop: () => undefined,
};

export interface PrometheusMetricsOptions extends MetricSetOptions {
  /** The other workers of `serve --workers N`; undefined for a process serving alone. */
  readonly peers: MetricsPeers | undefined;
  /** The traffic history's slot length; default TRAFFIC_INTERVAL_MS (tests use less). */
  readonly trafficIntervalMs?: number;
}

export class PrometheusMetrics implements Metrics {
  readonly #set: MetricSet;
  readonly #perClient: boolean;
  readonly #peers: MetricsPeers | undefined;
  readonly #options: PrometheusMetricsOptions;
  /** Totals kept beside prom-client's counters for the traffic history, which reads them every slot. */
  #tokens = 0;
  #failures = 0;
  #refusals = 0;
  readonly #history: TrafficHistory;
  /** The scrape being gathered, if any. */
  #scraping: Promise<Exposition> | undefined;

  constructor(options: PrometheusMetricsOptions) {
    this.#perClient = options.perClient;
    this.#peers = options.peers;
    this.#options = options;
    this.#set = createMetricSet(options);
    // The overview's requests are the public API's: the dashboard's own calls would count otherwise.
    this.#history = new TrafficHistory(
      () => [this.#set.requests.total('public'), this.#tokens, this.#failures, this.#refusals],
      { intervalMs: options.trafficIntervalMs ?? TRAFFIC_INTERVAL_MS },
    );
    this.#history.start();
    options.peers?.answerWith((subject) => this.#collect(subject));
  }

  requestsOf(listener: string): RequestMetrics {
    return this.#set.requests.recorderFor(listener);
  }

  tokenIssued(clientId: string): void {
    this.#tokens++;
    if (this.#perClient) this.#set.tokensIssued.inc({ client_id: clientId });
    else this.#set.tokensIssued.inc();
  }

  authenticationFailed(reason: string): void {
    this.#failures++;
    this.#set.authenticationFailures.inc({ reason: failureReason(reason) });
  }

  limitRefused(limit: LimitName): void {
    this.#refusals++;
    this.#set.limitRefusals.inc({ limit });
  }

  /**
   * This process's numbers, as the JSON that prom-client aggregates. Default metrics are read (collected)
   * here too, once per scrape.
   */
  snapshot(): Promise<MetricsSnapshot> {
    return this.#set.registry.getMetricsAsJSON();
  }

  /**
   * Scrapes asked while one is being gathered share it: `/metrics` takes no credentials, and a flood of
   * scrapes costs each worker one gathering at a time, not one per request.
   */
  scrape(): Promise<Exposition> {
    this.#scraping ??= this.#scrapeNow().finally(() => {
      this.#scraping = undefined;
    });
    return this.#scraping;
  }

  async #scrapeNow(): Promise<Exposition> {
    const { registry } = this.#set;
    if (this.#peers === undefined) {
      return { contentType: registry.contentType, body: await registry.metrics() };
    }
    const workers: MetricsSnapshot[] = [];
    const primary: MetricsSnapshot[] = [];
    for (const report of await this.#peers.gather('metrics')) {
      if (report.subject !== 'metrics' || report.snapshot.length === 0) continue;
      (report.fromPrimary ? primary : workers).push(report.snapshot);
    }
    // This worker's own numbers at least, should no worker's come back.
    const merged = aggregateSnapshots([
      ...(workers.length > 0 ? workers : [await this.snapshot()]),
      ...primary,
    ]);
    return { contentType: registry.contentType, body: await merged.metrics() };
  }

  async overview(): Promise<Overview> {
    const [reports, unready] = await Promise.all([
      this.#peers === undefined ? Promise.resolve([]) : this.#peers.gather('traffic'),
      this.#options.unready(),
    ]);
    const traffic = reports.flatMap((report) => (report.subject === 'traffic' ? [report.traffic] : []));
    return {
      // This worker's own at least, should the primary not answer.
      traffic: mergeTraffic(traffic.length > 0 ? traffic : [this.#history.report()], TRAFFIC_SLOTS),
      // This worker's view, as /readyz gives it (its probes are shared, and reused for a second).
      store: unready.includes('store') ? 'down' : 'up',
      cache: !this.#options.withCache ? 'none' : unready.includes('cache') ? 'down' : 'up',
    };
  }

  stop(): void {
    this.#history.stop();
  }

  async #collect(subject: PeerReport['subject']): Promise<PeerReport> {
    if (subject === 'traffic') return { subject, traffic: this.#history.report() };
    return { subject, snapshot: await this.snapshot() };
  }
}

/** Reasons spelt out in prose by some checks, under their label value. */
const REASON_ALIASES: Readonly<Record<string, string>> = { 'not an introspector': 'not_introspector' };

function failureReason(reason: string): string {
  const named = REASON_ALIASES[reason] ?? reason;
  return AUTHENTICATION_FAILURE_REASONS.has(named) ? named : 'malformed';
}
