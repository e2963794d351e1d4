import { unavailable } from '../errors.js';
import { type SharedWindowCounter, SyncedWindows } from '../limits/synced-windows.js';
import type { CounterFactory } from '../limits/window-counter.js';
import type { LimitWindow } from '../limits/window-spec.js';
import type { WindowState } from '../limits/window-state.js';
import type { ChangeSignal } from './change-signal.js';
import { type ClusterMessage, type CounterRequest, isClusterMessage } from './messages.js';

interface Pending {
  readonly resolve: (result: WindowState | number) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A worker's link to its primary: limit counters kept by the primary, so that every worker of the server
 * counts against the same windows, and change announcements relayed to the other workers.
 */
export class PrimaryLink implements ChangeSignal {
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<() => void>();
  /** Requests of this event-loop turn, sent as one message: IPC costs per message, not per request. */
  #queued: CounterRequest[] = [];
  #nextId = 1;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    process.on('message', (message: unknown) => {
      if (isClusterMessage(message)) this.#receive(message);
    });
  }

  /**
   * Brute-force counters are asked of the primary on every use: a few extra guesses matter. Rate and
   * token limits are counted here and synchronised with it (SyncedWindows): a round trip per API call
   * would double what a call costs.
   */
  readonly counters: CounterFactory = (space, windows) =>
    space.startsWith('failed-')
      ? new PrimaryCounter(this, space, windows)
      : new SyncedWindows(new PrimaryCounter(this, space, windows), windows);

  announce(): void {
    this.#send({ kind: 'portcullis.changed' });
  }

  subscribe(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /** @internal */
  request(
    op: CounterRequest['op'],
    space: string,
    windows: readonly LimitWindow[],
    key: string,
    now: number,
    added?: { readonly starts: readonly number[]; readonly deltas: readonly number[] },
  ) {
    const id = this.#nextId++;
    return new Promise<WindowState | number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(unavailable('cache_unavailable', 'the primary process did not answer'));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      if (this.#queued.length === 0) setImmediate(() => this.#flush());
      this.#queued.push({ id, op, space, windows, key, now, ...added });
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

  #settle(id: number, outcome: WindowState | number | Error): void {
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
      for (const { id, result } of message.replies) this.#settle(id, result);
    }
  }
}

class PrimaryCounter implements SharedWindowCounter {
  readonly #link: PrimaryLink;
  readonly #space: string;
  readonly #windows: readonly LimitWindow[];

  constructor(link: PrimaryLink, space: string, windows: readonly LimitWindow[]) {
    this.#link = link;
    this.#space = space;
    this.#windows = windows;
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  async hit(key: string, now: number): Promise<WindowState> {
    return (await this.#link.request('hit', this.#space, this.#windows, key, now)) as WindowState;
  }

  async blockedFor(key: string, now: number): Promise<number> {
    return (await this.#link.request('blockedFor', this.#space, this.#windows, key, now)) as number;
  }

  async add(
    key: string,
    starts: readonly number[],
    deltas: readonly number[],
    now: number,
  ): Promise<WindowState> {
    return (await this.#link.request('add', this.#space, this.#windows, key, now, {
      starts,
      deltas,
    })) as WindowState;
  }
}
