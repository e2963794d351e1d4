import { CountTable } from './count-table.js';
import { CurrentWindows } from './current-windows.js';
import { CLIENT_MAX_KEYS } from './fixed-windows.js';
import type { WindowCounter } from './window-counter.js';
import type { LimitWindow } from './window-spec.js';
import { type WindowAnswer, type WindowState, waitForExhausted, windowStarts } from './window-state.js';

/**
 * A counter kept outside this process that counts exactly, and can also take counts made elsewhere. Its
 * answers are always the caller's (what `hitInPlace` allows is of no use to a counter asked over a wire).
 */
export interface SharedWindowCounter extends Omit<WindowCounter, 'hitInPlace'> {
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

/**
 * Where this process stands for one key, numbers in a CountTable slot: when its windows began (all of
 * them current then), when the shared counter last stated its total (past SYNC_MS, the next call asks it
 * again), which generation of the slot this is (bumped whenever the slot starts afresh, so that a late
 * acknowledgement of an earlier one changes nothing), then per window: the total across processes as the
 * shared counter last said (KNOWN), admitted here and sent, not yet acknowledged (SENDING), and admitted
 * here, not yet sent (UNSENT).
 */
const WINDOWS_FROM = 0;
const EXCHANGED_AT = 1;
const GENERATION = 2;
const KNOWN = 3;

/** How often calls admitted here are added to the shared counter, which answers with the totals. */
const SYNC_MS = 20;

/**
 * Counts in this process against totals kept by a shared counter (a cluster's primary, or Redis). A call
 * asks the shared counter (exact) when this process has not heard the key's total in the last SYNC_MS
 * (the first call of a key in a window, or any call of a quiet key); otherwise it is decided here from
 * that total plus this process's own calls since, and every SYNC_MS the calls admitted here are added to
 * the shared count, which answers with the new total. Every call is counted once for the whole
 * deployment. Only a key called more often than every SYNC_MS is decided locally, and what other
 * processes admitted in those last SYNC_MS may not be known yet: past a limit, at most that many calls
 * more get through. Refusals are never wrong: counts only grow within a window.
 *
 * What is kept here per key only saves asking: past `maxKeys`, the key heard from longest ago that has
 * nothing unsent or unacknowledged is dropped (nothing is lost: its next call asks the shared counter).
 * Keys with calls on their way are never dropped, so the table may pass the bound by those for a while.
 */
export class SyncedWindows implements WindowCounter {
  readonly #shared: SharedWindowCounter;
  readonly #windows: readonly LimitWindow[];
  readonly #maxKeys: number;
  readonly #current: CurrentWindows;
  readonly #table: CountTable;
  readonly #sending: number;
  readonly #unsent: number;
  readonly #dirty = new Set<string>();
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The answer of a call decided here, overwritten by the next one (see `hitInPlace`). */
  readonly #answer: WindowAnswer;

  constructor(shared: SharedWindowCounter, windows: readonly LimitWindow[], maxKeys = CLIENT_MAX_KEYS) {
    this.#shared = shared;
    this.#windows = windows;
    this.#maxKeys = maxKeys;
    this.#current = new CurrentWindows(windows);
    this.#sending = KNOWN + windows.length;
    this.#unsent = KNOWN + 2 * windows.length;
    this.#table = new CountTable(KNOWN + 3 * windows.length);
    this.#answer = { allowed: true, windows, counts: windows.map(() => 0), resetsAt: [], retryAfterMs: 0 };
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  /** Keys held now. */
  get size(): number {
    return this.#table.size;
  }

  /** Counts one event of `key`; the answer is the caller's. */
  hit(key: string, now: number): WindowState | Promise<WindowState> {
    const answer = this.hitInPlace(key, now);
    return answer instanceof Promise ? answer : { ...answer, counts: answer.counts.slice() };
  }

  /**
   * As `hit`, but an answer given at once (decided here) is this counter's own and the next call
   * overwrites it: read it at once, keep nothing of it. One given later (asked of the shared counter) is
   * the caller's.
   */
  hitInPlace(key: string, now: number): WindowState | Promise<WindowState> {
    const current = this.#current.at(now);
    const table = this.#table;
    const slot = table.slotOf(key);
    if (slot === -1) return this.#askShared(key, now);
    const page = table.pageOf(slot);
    const at = table.offsetOf(slot);
    if (!current.holdsAll(page[at + WINDOWS_FROM] as number)) {
      // A window has turned: what was admitted here in the old ones still counts in those that have not.
      this.#send(key, slot);
      return this.#askShared(key, now);
    }
    if (now - (page[at + EXCHANGED_AT] as number) > SYNC_MS) return this.#askShared(key, now);
    const windows = this.#windows;
    const answer = this.#answer;
    let allowed = true;
    for (let i = 0; i < windows.length; i++) {
      const count =
        (page[at + KNOWN + i] as number) +
        (page[at + this.#sending + i] as number) +
        (page[at + this.#unsent + i] as number);
      answer.counts[i] = count;
      if (count >= (windows[i] as LimitWindow).limit) allowed = false;
    }
    if (allowed) {
      for (let i = 0; i < windows.length; i++) {
        (page[at + this.#unsent + i] as number)++;
        (answer.counts[i] as number)++;
      }
      this.#markDirty(key);
    }
    answer.allowed = allowed;
    answer.resetsAt = current.resetsAt;
    answer.retryAfterMs = allowed ? 0 : waitForExhausted(windows, answer.counts, current.resetsAt, now);
    return answer;
  }

  blockedFor(key: string, now: number): number | Promise<number> {
    return this.#shared.blockedFor(key, now);
  }

  /**
   * Counts the call at the shared counter. Its answer includes every call it has been told of, not those
   * this process has admitted and not yet sent (or whose acknowledgement is still on its way), so those
   * stay counted here on top of it.
   */
  async #askShared(key: string, now: number): Promise<WindowState> {
    const asked = await this.#shared.hit(key, now);
    const table = this.#table;
    const current = this.#current.at(now);
    let slot = table.slotOf(key);
    if (slot !== -1 && current.holdsAll(table.pageOf(slot)[table.offsetOf(slot) + WINDOWS_FROM] as number)) {
      const page = table.pageOf(slot);
      const at = table.offsetOf(slot);
      page[at + EXCHANGED_AT] = Date.now();
      const counts = asked.counts.map((count, i) => {
        page[at + KNOWN + i] = count;
        return count + (page[at + this.#sending + i] as number) + (page[at + this.#unsent + i] as number);
      });
      // The shared counter judged this call against its own total, which lacks the calls admitted here
      // and not yet acknowledged: it is allowed only if it fits with those too. Refused here, it stays
      // counted there: one too many, on the side of refusing.
      const allowed =
        asked.allowed && counts.every((count, i) => count <= (this.#windows[i] as LimitWindow).limit);
      const resetsAt = current.resetsAt;
      return {
        ...asked,
        allowed,
        counts,
        resetsAt,
        retryAfterMs: allowed ? 0 : waitForExhausted(this.#windows, counts, resetsAt, now),
      };
    }
    if (slot === -1) {
      if (table.size >= this.#maxKeys) this.#dropOldestSettled();
      slot = table.insert(key);
    } else {
      table.renew(key, slot);
    }
    const page = table.pageOf(slot);
    const at = table.offsetOf(slot);
    page.fill(0, at, at + table.width);
    page[at + WINDOWS_FROM] = now;
    page[at + EXCHANGED_AT] = Date.now();
    page[at + GENERATION] = ++this.#generation;
    for (let i = 0; i < asked.counts.length; i++) page[at + KNOWN + i] = asked.counts[i] as number;
    return asked;
  }

  /**
   * Drops the key heard from longest ago that has nothing on its way to the shared counter. Busy ones
   * met on the way are moved behind the others, so that a key always busy does not stop the table from
   * shrinking; after a few, it waits for the next insertion.
   */
  #dropOldestSettled(): void {
    const table = this.#table;
    for (let tries = 0; tries < 8; tries++) {
      const oldest = table.oldestKey();
      if (oldest === undefined) return;
      const slot = table.slotOf(oldest);
      if (!this.#dirty.has(oldest) && this.#settled(slot)) {
        table.delete(oldest);
        return;
      }
      table.renew(oldest, slot);
    }
  }

  /** Whether `slot` has no calls unsent or unacknowledged. */
  #settled(slot: number): boolean {
    const page = this.#table.pageOf(slot);
    const at = this.#table.offsetOf(slot);
    for (let i = this.#sending; i < this.#table.width; i++) if (page[at + i] !== 0) return false;
    return true;
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
      const slot = this.#table.slotOf(key);
      if (slot !== -1) this.#send(key, slot);
    }
  }

  /** Sends what `key` admitted here and has not sent yet, in the windows its slot counts in. */
  #send(key: string, slot: number): void {
    const table = this.#table;
    const page = table.pageOf(slot);
    const at = table.offsetOf(slot);
    const deltas = this.#windows.map((_, i) => page[at + this.#unsent + i] as number);
    if (deltas.every((delta) => delta === 0)) return;
    for (let i = 0; i < deltas.length; i++) {
      (page[at + this.#sending + i] as number) += deltas[i] as number;
      page[at + this.#unsent + i] = 0;
    }
    const generation = page[at + GENERATION] as number;
    const starts = windowStarts(this.#windows, page[at + WINDOWS_FROM] as number);
    // Only while the slot is still this generation of this key: one started afresh owes nothing to this.
    const stillOurs = () => table.slotOf(key) === slot && page[at + GENERATION] === generation;
    this.#shared.add(key, starts, deltas, Date.now()).then(
      (counts) => {
        if (!stillOurs()) return;
        // The total now includes what was sent; what was admitted since stays unsent.
        for (let i = 0; i < deltas.length; i++) {
          page[at + KNOWN + i] = counts[i] as number;
          (page[at + this.#sending + i] as number) -= deltas[i] as number;
        }
        page[at + EXCHANGED_AT] = Date.now();
      },
      () => {
        if (!stillOurs()) return;
        // Not acknowledged: send it again with the next batch.
        for (let i = 0; i < deltas.length; i++) {
          (page[at + this.#sending + i] as number) -= deltas[i] as number;
          (page[at + this.#unsent + i] as number) += deltas[i] as number;
        }
        this.#markDirty(key);
      },
    );
  }
}
