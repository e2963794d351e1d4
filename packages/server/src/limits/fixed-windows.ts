import { CountTable } from './count-table.js';
import { CurrentWindows } from './current-windows.js';
import type { LimitWindow } from './window-spec.js';
import {
  blockedForFromCounts,
  type WindowAnswer,
  type WindowState,
  waitForExhausted,
} from './window-state.js';

/**
 * How many keys a counter of authenticated clients holds (API calls, tokens issued). With four windows a
 * key costs about 100–115 bytes here (its map entry and five numbers; measured with 100 000 to 1 000 000
 * keys, against 530 when each key had its own object and arrays), so this bound is about 230 MB: a
 * million clients active within the longest window fit twice over, and none is forgotten.
 */
export const CLIENT_MAX_KEYS = 2_000_000;

/**
 * The bound of any other counter, whose keys may come from unauthenticated requests (addresses above
 * all), so that an attacker chooses how many there are: the memory they could take before a key cost
 * five times less (100 000 keys, about 50 MB), now for five times the keys.
 */
export const DEFAULT_MAX_KEYS = 500_000;

/** Per key: when it was last counted (all its counts are of the windows current then), then one count per window. */
const COUNTED_AT = 0;
const FIRST_COUNT = 1;

/**
 * Fixed windows aligned on multiples of their length since the epoch (so every node agrees on them),
 * counted per key in memory. A refused event is not counted: a client that waits gets through when the
 * window turns.
 *
 * Memory stays bounded at `maxKeys` keys. A key whose windows have all turned since it was last counted
 * holds nothing but zeros and is dropped first, without loss. Past the bound with every key current, the
 * one counted longest ago is dropped anyway and its counts are lost (`forgotten` counts those): size the
 * bound above the number of keys active within the longest window.
 */
export class FixedWindows {
  readonly #windows: readonly LimitWindow[];
  readonly #maxKeys: number;
  readonly #current: CurrentWindows;
  readonly #table: CountTable;
  /** The answer of `hitInPlace`, overwritten by the next one. */
  readonly #answer: WindowAnswer;
  #forgotten = 0;

  constructor(windows: readonly LimitWindow[], maxKeys = DEFAULT_MAX_KEYS) {
    this.#windows = windows;
    this.#maxKeys = maxKeys;
    this.#current = new CurrentWindows(windows);
    this.#table = new CountTable(FIRST_COUNT + windows.length);
    this.#answer = { allowed: true, windows, counts: windows.map(() => 0), resetsAt: [], retryAfterMs: 0 };
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  /** Keys held now. */
  get size(): number {
    return this.#table.size;
  }

  /** Keys dropped while their counts were still current, for want of room: each one a count lost. */
  get forgotten(): number {
    return this.#forgotten;
  }

  /** Counts one event of `key` in every window, or in none when any is full. The answer is the caller's. */
  hit(key: string, now: number): WindowState {
    const answer = this.hitInPlace(key, now);
    return { ...answer, counts: answer.counts.slice() };
  }

  /**
   * As `hit`, but the answer is this counter's own and the next call overwrites it: read it at once,
   * keep nothing of it. The per-call path, which then allocates nothing.
   */
  hitInPlace(key: string, now: number): WindowState {
    const current = this.#current.at(now);
    const slot = this.#currentSlotOf(key, now);
    const page = this.#table.pageOf(slot);
    const at = this.#table.offsetOf(slot) + FIRST_COUNT;
    const windows = this.#windows;
    const answer = this.#answer;
    let allowed = true;
    for (let i = 0; i < windows.length; i++) {
      if ((page[at + i] as number) >= (windows[i] as LimitWindow).limit) allowed = false;
    }
    for (let i = 0; i < windows.length; i++) {
      if (allowed) (page[at + i] as number)++;
      answer.counts[i] = page[at + i] as number;
    }
    answer.allowed = allowed;
    answer.resetsAt = current.resetsAt;
    answer.retryAfterMs = allowed ? 0 : waitForExhausted(windows, answer.counts, current.resetsAt, now);
    return answer;
  }

  /**
   * Without counting: milliseconds until `key` may act again, or 0 when it may now. Keys never hit are
   * answered from one map lookup.
   */
  blockedFor(key: string, now: number): number {
    return this.#table.slotOf(key) === -1
      ? 0
      : blockedForFromCounts(this.#windows, this.counts(key, now), now);
  }

  mayHold(key: string): boolean {
    return this.#table.slotOf(key) !== -1;
  }

  /** Without counting: the counts of `key` in the windows current at `now` (turned ones are empty). */
  counts(key: string, now: number): number[] {
    const slot = this.#table.slotOf(key);
    if (slot === -1) return this.#windows.map(() => 0);
    const current = this.#current.at(now);
    const page = this.#table.pageOf(slot);
    const at = this.#table.offsetOf(slot);
    const countedAt = page[at + COUNTED_AT] as number;
    return this.#windows.map((_, i) =>
      current.holds(i, countedAt) ? (page[at + FIRST_COUNT + i] as number) : 0,
    );
  }

  /**
   * Adds events already admitted elsewhere (`deltas[i]` in window i, counted while the window began at
   * `starts[i]`), without checking the limits, and returns the counts after. Deltas for a window that has
   * turned since are dropped: they belong to a window that is over.
   */
  add(key: string, starts: readonly number[], deltas: readonly number[], now: number): number[] {
    const current = this.#current.at(now);
    const slot = this.#currentSlotOf(key, now);
    const page = this.#table.pageOf(slot);
    const at = this.#table.offsetOf(slot) + FIRST_COUNT;
    return this.#windows.map((_, i) => {
      if (starts[i] === current.starts[i]) (page[at + i] as number) += deltas[i] ?? 0;
      return page[at + i] as number;
    });
  }

  /**
   * The slot of `key`, made if need be, its counts brought to the windows current at `now` (those of
   * windows that have turned since it was last counted start afresh) and marked as counted at `now`.
   */
  #currentSlotOf(key: string, now: number): number {
    const table = this.#table;
    let slot = table.slotOf(key);
    if (slot === -1) {
      if (table.size >= this.#maxKeys) this.#dropOldest();
      slot = table.insert(key);
      table.pageOf(slot)[table.offsetOf(slot) + COUNTED_AT] = now;
      return slot;
    }
    const page = table.pageOf(slot);
    const at = table.offsetOf(slot);
    const countedAt = page[at + COUNTED_AT] as number;
    if (!this.#current.holdsAll(countedAt)) {
      for (let i = 0; i < this.#windows.length; i++) {
        if (!this.#current.holds(i, countedAt)) page[at + FIRST_COUNT + i] = 0;
      }
      // Renewed once per window turn, so that the oldest key is the one counted longest ago.
      table.renew(key, slot);
    }
    page[at + COUNTED_AT] = now;
    return slot;
  }

  /** Makes room for one key: the one counted longest ago, lost only if any of its windows is current. */
  #dropOldest(): void {
    const oldest = this.#table.oldestKey();
    if (oldest === undefined) return;
    const slot = this.#table.slotOf(oldest);
    const countedAt = this.#table.pageOf(slot)[this.#table.offsetOf(slot) + COUNTED_AT] as number;
    if (this.#windows.some((_, i) => this.#current.holds(i, countedAt))) this.#forgotten++;
    this.#table.delete(oldest);
  }
}
