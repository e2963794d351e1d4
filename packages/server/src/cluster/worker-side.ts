import { unavailable } from '../errors.js';
import {
  type CountSubject,
  type CountTransport,
  type HitCounts,
  sharedCounters,
} from '../limits/shared-counters.js';
import type { CounterFactory } from '../limits/window-counter.js';
import {
  GATHER_TIMEOUT_MS,
  type MetricsPeers,
  type PeerReport,
  type PeerSubject,
} from '../metrics/snapshots.js';
import type { ChangeSignal } from './change-signal.js';
import { type ClusterMessage, type CounterCall, type CounterRequest, isClusterMessage } from './messages.js';

interface Pending {
  readonly resolve: (reply: HitCounts) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** How long past the primary's own wait a worker waits for its answer before scraping itself alone. */
const ANSWER_MARGIN_MS = 500;

/**
 * A worker's link to its primary: limit counters kept by the primary, so that every worker of the server
 * counts against the same windows, change announcements relayed to the other workers, and every worker's
 * metrics gathered for a scrape.
 */
export class PrimaryLink implements ChangeSignal, CountTransport, MetricsPeers {
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<() => void>();
  /** Requests of this event-loop turn, sent as one message: IPC costs per message, not per request. */
  #queued: CounterRequest[] = [];
  #nextId = 1;
  readonly #gathers = new Map<number, (reports: readonly PeerReport[]) => void>();
  #collect: ((subject: PeerSubject) => Promise<PeerReport | undefined>) | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    process.on('message', (message: unknown) => {
      if (isClusterMessage(message)) this.#receive(message);
    });
  }

  /** The limit counters, kept by the primary. */
  readonly counters: CounterFactory = sharedCounters(this);

  announce(): void {
    this.#send({ kind: 'portcullis.changed' });
  }

  subscribe(listener: () => void): void {
    this.#listeners.add(listener);
  }

  hit(subject: CountSubject): Promise<HitCounts> {
    return this.#request({ op: 'hit', ...subject });
  }

  async counts(subject: CountSubject): Promise<readonly number[]> {
    return (await this.#request({ op: 'counts', ...subject })).counts;
  }

  async add(
    subject: CountSubject,
    starts: readonly number[],
    deltas: readonly number[],
  ): Promise<readonly number[]> {
    return (await this.#request({ op: 'add', ...subject, starts, deltas })).counts;
  }

  gather(subject: PeerSubject): Promise<readonly PeerReport[]> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#gathers.delete(id);
        resolve([]);
      }, GATHER_TIMEOUT_MS + ANSWER_MARGIN_MS);
      this.#gathers.set(id, (reports) => {
        clearTimeout(timer);
        this.#gathers.delete(id);
        resolve(reports);
      });
      try {
        this.#send({ kind: 'portcullis.metrics.ask', id, subject });
      } catch {
        this.#gathers.get(id)?.([]);
      }
    });
  }

  answerWith(collect: (subject: PeerSubject) => Promise<PeerReport | undefined>): void {
    this.#collect = collect;
  }

  /** Answers the primary's collect; with nothing when this worker records no metrics. */
  async #report(id: number, subject: PeerSubject): Promise<void> {
    let report: PeerReport | undefined;
    try {
      report = await this.#collect?.(subject);
    } catch {
      // A failed collection answers empty rather than not at all: the primary then need not wait.
    }
    try {
      this.#send({ kind: 'portcullis.metrics.report', id, ...(report !== undefined && { report }) });
    } catch {
      // The primary is gone: this worker stops on its own (reportListening).
    }
  }

  #request(call: CounterCall): Promise<HitCounts> {
    const id = this.#nextId++;
    return new Promise<HitCounts>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(unavailable('cache_unavailable', 'the primary process did not answer'));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      if (this.#queued.length === 0) setImmediate(() => this.#flush());
      this.#queued.push({ ...call, id });
    });
  }

  #flush(): void {
    const requests = this.#queued;
    this.#queued = [];
    try {
      this.#send({ kind: 'portcullis.counters', requests });
    } catch (error) {
      for (const { id } of requests) this.#settle(id, error as Error);
    }
  }

  #settle(id: number, outcome: HitCounts | Error): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  #send(message: ClusterMessage): void {
    if (process.send === undefined || !process.connected)
      throw unavailable('cache_unavailable', 'no link to the primary process');
    process.send(message);
  }

  #receive(message: ClusterMessage): void {
    if (message.kind === 'portcullis.changed') {
      for (const listener of this.#listeners) listener();
    } else if (message.kind === 'portcullis.counters.reply') {
      for (const reply of message.replies) this.#settle(reply.id, reply);
    } else if (message.kind === 'portcullis.metrics.collect') {
      void this.#report(message.id, message.subject);
    } else if (message.kind === 'portcullis.metrics.answer') {
      this.#gathers.get(message.id)?.(message.reports);
    }
  }
}
