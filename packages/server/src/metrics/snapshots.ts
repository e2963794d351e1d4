import { AggregatorRegistry, type Registry } from 'prom-client';
import type { TrafficReport } from './traffic-history.js';

/** One process's metrics as prom-client's JSON (`registry.getMetricsAsJSON()`), which crosses IPC as is. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** What a gathering collects from each worker: a scrape's snapshot, or the stats' last hour of traffic. */
export type PeerSubject = 'metrics' | 'traffic';

/** One worker's answer to a gathering, by subject. */
export type PeerReport =
  | {
      readonly subject: 'metrics';
      readonly snapshot: MetricsSnapshot;
      /** The primary's own numbers (the limit counts it holds), not a worker's. */
      readonly fromPrimary?: true;
    }
  | { readonly subject: 'traffic'; readonly traffic: TrafficReport };

/**
 * How a worker of `serve --workers N` reaches the others' numbers: through its primary, which asks every
 * worker (this one included) and forwards what they answered. A scrape (or a stats request) lands on one
 * worker, which must answer for all of them.
 */
export interface MetricsPeers {
  /** Every worker's report on `subject` that came in time; empty when the primary did not answer. */
  gather(subject: PeerSubject): Promise<readonly PeerReport[]>;
  /** What this worker answers when the primary collects; undefined when it has nothing to report. */
  answerWith(collect: (subject: PeerSubject) => Promise<PeerReport | undefined>): void;
}

/**
 * How long the primary waits for the workers' snapshots: a worker that does not answer (busy, starting,
 * dying) must not hang the scrape. The others' are answered, and `portcullis_workers_reporting` says how
 * many they were.
 */
export const GATHER_TIMEOUT_MS = 1000;

/**
 * Merges the processes' snapshots with prom-client's own cluster aggregation, each metric by its
 * `aggregator` (definitions.ts; process metrics: sums, except the start time, omitted, and the version,
 * the first's).
 */
export function aggregateSnapshots(snapshots: readonly MetricsSnapshot[]): Registry {
  return AggregatorRegistry.aggregate([...snapshots]);
}
