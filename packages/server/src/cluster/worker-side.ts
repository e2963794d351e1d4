import { PortcullisError } from '../errors.js';
import type { WindowState } from '../limits/fixed-windows.js';
import type { CounterFactory, WindowCounter } from '../limits/window-counter.js';
import type { LimitWindow } from '../limits/window-spec.js';
import { windowState } from '../limits/window-state.js';
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
   * token limits are counted here and synchronised (see LocallyCountedWindows): a round trip per API call
   * would double what a call costs.
   */
  readonly counters: CounterFactory = (space, windows) =>
    space.startsWith('failed-')
      ? new PrimaryCounter(this, space, windows)
      : new LocallyCountedWindows(this, space, windows);

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
        reject(unavailable('the primary process did not answer'));
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
    if (process.send === undefined || !process.connected) throw unavailable('no link to the primary process');
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

class PrimaryCounter implements WindowCounter {
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
}

/** Where this worker stands for one key: the primary's count at the last exchange, plus its own since. */
interface LocalCount {
  readonly starts: readonly number[];
  /** When the primary last stated the total: past SYNC_MS, the next call asks it again. */
  exchangedAt: number;
  /** The total across workers, as the primary last said. */
  readonly known: number[];
  /** Admitted here, sent to the primary, not yet acknowledged. */
  readonly sending: number[];
  /** Admitted here, not yet sent. */
  readonly unsent: number[];
}

/** How often admitted calls are sent to the primary, which answers with the totals of all workers. */
const SYNC_MS = 20;
const MAX_LOCAL_KEYS = 100_000;

/**
 * Counts in this worker against totals kept by the primary. A call asks the primary (exact) when this
 * worker has not heard the key's total in the last SYNC_MS (the first call of a key in a window, or any
 * call of a quiet key); otherwise it is decided here from that total plus this worker's own calls since,
 * and every SYNC_MS the calls admitted here are added to the primary's count, which answers with the new
 * total. Every call is counted once for the whole server. Only a key called more often than every
 * SYNC_MS is decided locally, and what other workers admitted in those last SYNC_MS may not be known
 * yet: past a limit, at most that many calls more get through. Refusals are never wrong: counts only grow
 * within a window.
 */
class LocallyCountedWindows implements WindowCounter {
  readonly #link: PrimaryLink;
  readonly #space: string;
  readonly #windows: readonly LimitWindow[];
  readonly #counts = new Map<string, LocalCount>();
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(link: PrimaryLink, space: string, windows: readonly LimitWindow[]) {
    this.#link = link;
    this.#space = space;
    this.#windows = windows;
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  hit(key: string, now: number): WindowState | Promise<WindowState> {
    const starts = this.#windows.map(({ windowMs }) => now - (now % windowMs));
    const local = this.#counts.get(key);
    if (local === undefined || local.starts.some((start, i) => start !== starts[i])) {
      return this.#askPrimary(key, starts, now, undefined);
    }
    if (now - local.exchangedAt > SYNC_MS) return this.#askPrimary(key, starts, now, local);
    const counts = this.#windows.map(
      (_, i) => (local.known[i] as number) + (local.sending[i] as number) + (local.unsent[i] as number),
    );
    const allowed = counts.every((count, i) => count < (this.#windows[i] as LimitWindow).limit);
    if (allowed) {
      for (let i = 0; i < counts.length; i++) {
        (local.unsent[i] as number)++;
        (counts[i] as number)++;
      }
      this.#markDirty(key);
    }
    return windowState(this.#windows, counts, allowed, now);
  }

  blockedFor(key: string, now: number): Promise<number> {
    return this.#link.request('blockedFor', this.#space, this.#windows, key, now) as Promise<number>;
  }

  /**
   * Counts the call at the primary. Its answer includes every call the primary has been told of, not
   * those this worker has admitted and not yet sent (or whose acknowledgement is still on its way), so
   * those stay counted here on top of it.
   */
  async #askPrimary(
    key: string,
    starts: readonly number[],
    now: number,
    local: LocalCount | undefined,
  ): Promise<WindowState> {
    const asked = (await this.#link.request('hit', this.#space, this.#windows, key, now)) as WindowState;
    const known = asked.made.split(',').map(Number);
    if (local !== undefined) {
      local.known.splice(0, known.length, ...known);
      local.exchangedAt = Date.now();
      const counts = known.map(
        (count, i) => count + (local.sending[i] as number) + (local.unsent[i] as number),
      );
      return windowState(this.#windows, counts, asked.allowed, now);
    }
    if (this.#counts.size >= MAX_LOCAL_KEYS) {
      const oldest = this.#counts.keys().next();
      if (oldest.done !== true && !this.#dirty.has(oldest.value)) this.#counts.delete(oldest.value);
    }
    const zeros = () => this.#windows.map(() => 0);
    this.#counts.set(key, { starts, exchangedAt: Date.now(), known, sending: zeros(), unsent: zeros() });
    return asked;
  }

  #markDirty(key: string): void {
    this.#dirty.add(key);
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sync();
    }, SYNC_MS);
    this.#timer.unref();
  }

  #sync(): void {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    for (const key of keys) {
      const local = this.#counts.get(key);
      if (local === undefined) continue;
      const deltas = [...local.unsent];
      for (let i = 0; i < deltas.length; i++) {
        (local.sending[i] as number) += deltas[i] as number;
        local.unsent[i] = 0;
      }
      const now = Date.now();
      this.#link.request('add', this.#space, this.#windows, key, now, { starts: local.starts, deltas }).then(
        (state) => {
          // The total now includes what was sent; what was admitted since stays unsent.
          local.known.splice(0, local.known.length, ...(state as WindowState).made.split(',').map(Number));
          local.exchangedAt = Date.now();
          for (let i = 0; i < deltas.length; i++) (local.sending[i] as number) -= deltas[i] as number;
        },
        () => {
          // Not acknowledged: send it again with the next batch.
          for (let i = 0; i < deltas.length; i++) {
            (local.sending[i] as number) -= deltas[i] as number;
            (local.unsent[i] as number) += deltas[i] as number;
          }
          this.#markDirty(key);
        },
      );
    }
  }
}

function unavailable(detail: string): PortcullisError {
  return new PortcullisError('cache_unavailable', { detail, headers: { 'Retry-After': '1' } });
}
