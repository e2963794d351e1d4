import type { CountSubject, HitCounts } from '../limits/shared-counters.js';
import type { PeerReport, PeerSubject } from '../metrics/snapshots.js';

/** What workers and their primary say to each other over the cluster's IPC channel. */

/** Counter requests made in one turn of a worker's event loop, sent together. */
export interface CounterRequests {
  readonly kind: 'portcullis.counters';
  readonly requests: readonly CounterRequest[];
}

/** One `CountTransport` call, asked of the primary's counters. */
export type CounterCall =
  | (CountSubject & { readonly op: 'hit' | 'counts' })
  | (CountSubject & {
      readonly op: 'add';
      /** When each window began, and how many events a worker admitted in it. */
      readonly starts: readonly number[];
      readonly deltas: readonly number[];
    });

/** A call numbered by the worker, which matches the reply to it. */
export type CounterRequest = CounterCall & { readonly id: number };

/** The counts after each request, as numbers; `allowed` is false only for a hit that was refused. */
export interface CounterReplies {
  readonly kind: 'portcullis.counters.reply';
  readonly replies: readonly CounterReply[];
}

export interface CounterReply extends HitCounts {
  readonly id: number;
}

/** A worker wrote a change (or the primary relays one): read the store's change feed now. */
export interface ChangeAnnouncement {
  readonly kind: 'portcullis.changed';
}

/** A worker is accepting connections. */
export interface Listening {
  readonly kind: 'portcullis.listening';
  readonly port: number;
  /** The admin listener's port; absent when it is off. */
  readonly adminPort?: number;
}

/** A worker could not start (port in use, store unreachable…): the primary prints `message`, once. */
export interface StartFailed {
  readonly kind: 'portcullis.start_failed';
  readonly message: string;
}

/**
 * A worker was scraped (`GET /metrics`) or asked for stats (`GET /admin/v1/stats`): the primary is to
 * gather every worker's numbers on `subject` for it.
 */
export interface MetricsAsk {
  readonly kind: 'portcullis.metrics.ask';
  /** Numbered by the asking worker, which matches the answer to it. */
  readonly id: number;
  readonly subject: PeerSubject;
}

/** The primary asks a worker for its numbers. */
export interface MetricsCollect {
  readonly kind: 'portcullis.metrics.collect';
  /** Numbered by the primary. */
  readonly id: number;
  readonly subject: PeerSubject;
}

/** A worker's numbers; none from a worker that records none. */
export interface MetricsReport {
  readonly kind: 'portcullis.metrics.report';
  readonly id: number;
  readonly report?: PeerReport;
}

/**
 * The primary's answer to an ask: the reports of the workers that answered in time, and for a scrape its
 * own when it holds the limit counts (`fromPrimary`).
 */
export interface MetricsAnswer {
  readonly kind: 'portcullis.metrics.answer';
  readonly id: number;
  readonly reports: readonly PeerReport[];
}

export type ClusterMessage =
  | CounterRequests
  | CounterReplies
  | ChangeAnnouncement
  | Listening
  | StartFailed
  | MetricsAsk
  | MetricsCollect
  | MetricsReport
  | MetricsAnswer;

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    (value as { kind: string }).kind.startsWith('portcullis.')
  );
}
