import {
  AUTHENTICATION_FAILURE_REASONS,
  createMetricSet,
  type LimitName,
  type MetricSet,
  type MetricSetOptions,
} from './definitions.js';
import type { RequestMetrics } from './request-tallies.js';
import { aggregateSnapshots, type MetricsPeers, type MetricsSnapshot } from './snapshots.js';

export type { RequestMetrics } from './request-tallies.js';

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
}

export const NO_METRICS: Metrics = {
  requestsOf: () => undefined,
  tokenIssued: () => undefined,
  authenticationFailed: () => undefined,
  limitRefused: () => undefined,
  scrape: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' }),
};

export interface PrometheusMetricsOptions extends MetricSetOptions {
  /** The other workers of `serve --workers N`; undefined for a process serving alone. */
  readonly peers: MetricsPeers | undefined;
}

export class PrometheusMetrics implements Metrics {
  readonly #set: MetricSet;
  readonly #perClient: boolean;
  readonly #peers: MetricsPeers | undefined;

  constructor(options: PrometheusMetricsOptions) {
    this.#perClient = options.perClient;
    this.#peers = options.peers;
    this.#set = createMetricSet(options);
    options.peers?.answerWith(() => this.snapshot());
  }

  requestsOf(listener: string): RequestMetrics {
    return this.#set.requests.recorderFor(listener);
  }

  tokenIssued(clientId: string): void {
    if (this.#perClient) this.#set.tokensIssued.inc({ client_id: clientId });
    else this.#set.tokensIssued.inc();
  }

  authenticationFailed(reason: string): void {
    this.#set.authenticationFailures.inc({ reason: failureReason(reason) });
  }

  limitRefused(limit: LimitName): void {
    this.#set.limitRefusals.inc({ limit });
  }

  /**
   * This process's numbers, as the JSON that prom-client aggregates. Default metrics are read (collected)
   * here too, once per scrape.
   */
  snapshot(): Promise<MetricsSnapshot> {
    return this.#set.registry.getMetricsAsJSON();
  }

  async scrape(): Promise<Exposition> {
    const { registry } = this.#set;
    if (this.#peers === undefined) {
      return { contentType: registry.contentType, body: await registry.metrics() };
    }
    const snapshots = await this.#peers.gather();
    // This worker's own numbers at least, should the primary not answer.
    const merged = aggregateSnapshots(snapshots.length > 0 ? snapshots : [await this.snapshot()]);
    return { contentType: registry.contentType, body: await merged.metrics() };
  }
}

/** Reasons spelt out in prose by some checks, under their label value. */
const REASON_ALIASES: Readonly<Record<string, string>> = { 'not an introspector': 'not_introspector' };

function failureReason(reason: string): string {
  const named = REASON_ALIASES[reason] ?? reason;
  return AUTHENTICATION_FAILURE_REASONS.has(named) ? named : 'malformed';
}
