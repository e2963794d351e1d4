import type { Worker } from 'node:cluster';
import { Registry } from 'prom-client';
import { isClientLimitSpace, limitOfSpace } from '../limits/client-limits.js';
import { CLIENT_MAX_KEYS, FixedWindows } from '../limits/fixed-windows.js';
import type { HitCounts } from '../limits/shared-counters.js';
import type { LimitWindow } from '../limits/window-spec.js';
import { type LimitName, registerLimitKeysForgotten } from '../metrics/definitions.js';
import type { MetricsSnapshot } from '../metrics/snapshots.js';
import { type ClusterMessage, type CounterReply, type CounterRequest, isClusterMessage } from './messages.js';
import { MetricsGatherings } from './metrics-gathering.js';

/**
 * The primary's side of the cluster: it keeps the limit counters of all its workers (when no shared cache
 * is configured), relays change announcements from one worker to the others, and gathers every worker's
 * metrics (or traffic) for the one asked.
 */
export class WorkerHub {
  readonly #workers = new Set<Worker>();
  readonly #counters = new Map<string, { readonly space: string; readonly counter: FixedWindows }>();
  readonly #countInPrimary: boolean;
  readonly #metrics: MetricsGatherings;

  /** @param countInPrimary whether limit counters live here (no `--cache`), or in Redis. */
  constructor(countInPrimary: boolean) {
    this.#countInPrimary = countInPrimary;
    let primaryMetrics: (() => Promise<MetricsSnapshot>) | undefined;
    if (countInPrimary) {
      // The counts live here: so do the keys forgotten for want of room, which a scrape must show.
      const registry = new Registry();
      registerLimitKeysForgotten(registry, () => this.#forgottenKeys());
      primaryMetrics = () => registry.getMetricsAsJSON();
    }
    this.#metrics = new MetricsGatherings(primaryMetrics);
  }

  add(worker: Worker, onMessage: (message: ClusterMessage) => void): void {
    this.#workers.add(worker);
    worker.on('message', (message: unknown) => {
      if (!isClusterMessage(message)) return;
      if (message.kind === 'portcullis.counters' && this.#countInPrimary)
        this.#count(worker, message.requests);
      else if (message.kind === 'portcullis.changed') this.#relay(worker, message);
      else if (message.kind === 'portcullis.metrics.ask')
        void this.#metrics.ask(worker, message.id, message.subject, this.#workers);
      else if (message.kind === 'portcullis.metrics.report') this.#metrics.report(worker, message);
      else onMessage(message);
    });
    worker.once('exit', () => {
      this.#workers.delete(worker);
      this.#metrics.forget(worker);
    });
  }

  #count(worker: Worker, requests: readonly CounterRequest[]): void {
    const replies = requests.map((request): CounterReply => ({ id: request.id, ...this.#answer(request) }));
    if (worker.isConnected()) worker.send({ kind: 'portcullis.counters.reply', replies });
  }

  #answer(request: CounterRequest): HitCounts {
    const { key, now } = request;
    const counter = this.#counterOf(request.space, request.windows);
    if (request.op === 'hit') {
      const { counts, allowed } = counter.hit(key, now);
      return { counts, allowed };
    }
    if (request.op === 'add') {
      return { counts: counter.add(key, request.starts, request.deltas, now), allowed: true };
    }
    return { counts: counter.counts(key, now), allowed: true };
  }

  #counterOf(space: string, windows: readonly LimitWindow[]): FixedWindows {
    const id = `${space}|${windows.map(({ limit, windowMs }) => `${limit}/${windowMs}`).join(',')}`;
    let held = this.#counters.get(id);
    if (held === undefined) {
      // Client spaces hold as many keys as a worker's own counters; the others (failed authentications)
      // are keyed by what requests choose, and keep the smaller default.
      held = {
        space,
        counter: new FixedWindows(windows, isClientLimitSpace(space) ? CLIENT_MAX_KEYS : undefined),
      };
      this.#counters.set(id, held);
    }
    return held.counter;
  }

  #forgottenKeys(): Record<LimitName, number> {
    const forgotten: Record<LimitName, number> = { rate: 0, token: 0, failed_authentication: 0 };
    for (const { space, counter } of this.#counters.values())
      forgotten[limitOfSpace(space)] += counter.forgotten;
    return forgotten;
  }

  #relay(from: Worker, message: ClusterMessage): void {
    for (const worker of this.#workers) if (worker !== from && worker.isConnected()) worker.send(message);
  }
}
