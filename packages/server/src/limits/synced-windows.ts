import type { WindowCounter } from './window-counter.js';
import type { LimitWindow } from './window-spec.js';
import { type WindowState, windowStarts, windowState } from './window-state.js';

/** A counter kept outside this process that counts exactly, and can also take counts made elsewhere. */
export interface SharedWindowCounter extends WindowCounter {
  hit(key: string, now: number): Promise<WindowState>;
  /**
   * Adds events already admitted (`deltas[i]` in window i while it began at `starts[i]`) without checking
   * the limits, and answers the counts after. Those of a window that has turned since are of no use: the
   * next hit of the key starts afresh.
   */
  add(
    key: string,
    starts: readonly number[],
    deltas: readonly number[],
    now: number,
  ): Promise<readonly number[]>;
}

/** Where this process stands for one key: the shared count at the last exchange, plus its own since. */
interface LocalCount {
  readonly starts: readonly number[];
  /** When the shared counter last stated the total: past SYNC_MS, the next call asks it again. */
  exchangedAt: number;
  /** The total across processes, as the shared counter last said. */
  readonly known: number[];
  /** Admitted here, sent to the shared counter, not yet acknowledged. */
  readonly sending: number[];
  /** Admitted here, not yet sent. */
  readonly unsent: number[];
}

/** How often calls admitted here are added to the shared counter, which answers with the totals. */
const SYNC_MS = 20;
const MAX_LOCAL_KEYS = 100_000;

/**
 * Counts in this process against totals kept by a shared counter (a cluster's primary, or Redis). A call
 * asks the shared counter (exact) when this process has not heard the key's total in the last SYNC_MS
 * (the first call of a key in a window, or any call of a quiet key); otherwise it is decided here from
 * that total plus this process's own calls since, and every SYNC_MS the calls admitted here are added to
 * the shared count, which answers with the new total. Every call is counted once for the whole
 * deployment. Only a key called more often than every SYNC_MS is decided locally, and what other
 * processes admitted in those last SYNC_MS may not be known yet: past a limit, at most that many calls
 * more get through. Refusals are never wrong: counts only grow within a window.
 */
export class SyncedWindows implements WindowCounter {
  readonly #shared: SharedWindowCounter;
  readonly #windows: readonly LimitWindow[];
  readonly #counts = new Map<string, LocalCount>();
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(shared: SharedWindowCounter, windows: readonly LimitWindow[]) {
    this.#shared = shared;
    this.#windows = windows;
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  hit(key: string, now: number): WindowState | Promise<WindowState> {
    const starts = windowStarts(this.#windows, now);
    const local = this.#counts.get(key);
    if (local === undefined || local.starts.some((start, i) => start !== starts[i])) {
      return this.#askShared(key, starts, now, undefined);
    }
    if (now - local.exchangedAt > SYNC_MS) return this.#askShared(key, starts, now, local);
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

  blockedFor(key: string, now: number): number | Promise<number> {
    return this.#shared.blockedFor(key, now);
  }

  /**
   * Counts the call at the shared counter. Its answer includes every call it has been told of, not those
   * this process has admitted and not yet sent (or whose acknowledgement is still on its way), so those
   * stay counted here on top of it.
   */
  async #askShared(
    key: string,
    starts: readonly number[],
    now: number,
    local: LocalCount | undefined,
  ): Promise<WindowState> {
    const asked = await this.#shared.hit(key, now);
    const known = [...asked.counts];
    if (local !== undefined) {
      local.known.splice(0, known.length, ...known);
      local.exchangedAt = Date.now();
      const counts = known.map(
        (count, i) => count + (local.sending[i] as number) + (local.unsent[i] as number),
      );
      // The shared counter judged this call against its own total, which lacks the calls admitted here
      // and not yet acknowledged: it is allowed only if it fits with those too. Refused here, it stays
      // counted there: one too many, on the side of refusing.
      const allowed =
        asked.allowed && counts.every((count, i) => count <= (this.#windows[i] as LimitWindow).limit);
      return windowState(this.#windows, counts, allowed, now);
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
      this.#shared.add(key, local.starts, deltas, now).then(
        (counts) => {
          // The total now includes what was sent; what was admitted since stays unsent.
          local.known.splice(0, local.known.length, ...counts);
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
