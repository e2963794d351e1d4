import type { Worker } from 'node:cluster';
import {
  GATHER_TIMEOUT_MS,
  type MetricsSnapshot,
  type PeerReport,
  type PeerSubject,
} from '../metrics/snapshots.js';
import type { MetricsAnswer, MetricsCollect, MetricsReport } from './messages.js';

interface Gathering {
  readonly asker: Worker;
  readonly askId: number;
  /** The workers asked that have not answered yet. */
  readonly waiting: Set<Worker>;
  readonly reports: PeerReport[];
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary's part in a scrape (or a stats request) of `serve --workers N`: the scraped worker asks,
 * the primary collects every connected worker's report on the subject asked and sends them back, within GATHER_TIMEOUT_MS: a worker that has
 * not answered by then is left out (the merged `portcullis_workers_reporting` shows it) rather than
 * holding the scrape. The primary does not merge: the asking worker does, off the primary's event loop,
 * which relays every worker's limit counters.
 */
export class MetricsGatherings {
  readonly #pending = new Map<number, Gathering>();
  readonly #primaryMetrics: (() => Promise<MetricsSnapshot>) | undefined;
  #nextId = 1;

  /** @param primaryMetrics the primary's own numbers, added to each scrape's reports (`fromPrimary`). */
  constructor(primaryMetrics?: () => Promise<MetricsSnapshot>) {
    this.#primaryMetrics = primaryMetrics;
  }

  async ask(asker: Worker, askId: number, subject: PeerSubject, workers: Iterable<Worker>): Promise<void> {
    const own = subject === 'metrics' ? await this.#primaryMetrics?.().catch(() => undefined) : undefined;
    const id = this.#nextId++;
    const waiting = new Set([...workers].filter((worker) => worker.isConnected()));
    const gathering: Gathering = {
      asker,
      askId,
      waiting,
      reports: own === undefined ? [] : [{ subject: 'metrics', snapshot: own, fromPrimary: true }],
      timer: setTimeout(() => this.#finish(id), GATHER_TIMEOUT_MS),
    };
    this.#pending.set(id, gathering);
    const collect: MetricsCollect = { kind: 'portcullis.metrics.collect', id, subject };
    for (const worker of waiting) {
      try {
        worker.send(collect);
      } catch {
        waiting.delete(worker);
      }
    }
    if (waiting.size === 0) this.#finish(id);
  }

  report(from: Worker, report: MetricsReport): void {
    const gathering = this.#pending.get(report.id);
    if (gathering === undefined || !gathering.waiting.delete(from)) return;
    if (report.report !== undefined) gathering.reports.push(report.report);
    if (gathering.waiting.size === 0) this.#finish(report.id);
  }

  /** A worker that exits answers no more: the gatherings waiting for it need not. */
  forget(worker: Worker): void {
    for (const [id, gathering] of this.#pending) {
      if (gathering.waiting.delete(worker) && gathering.waiting.size === 0) this.#finish(id);
    }
  }

  #finish(id: number): void {
    const gathering = this.#pending.get(id);
    if (gathering === undefined) return;
    this.#pending.delete(id);
    clearTimeout(gathering.timer);
    const answer: MetricsAnswer = {
      kind: 'portcullis.metrics.answer',
      id: gathering.askId,
      reports: gathering.reports,
    };
    if (gathering.asker.isConnected()) gathering.asker.send(answer);
  }
}
