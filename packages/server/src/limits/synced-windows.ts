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
export interface SharedWindowCounter extends Omit<WindowCounter, 'hitInPlace' | 'forgotten' | 'mayHold'> {
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
 * Where this process stands for one key, numbers in a CountTable slot. Every call admitted here counts
 * once in each window, so what this process admitted is one number for all windows; only the totals
 * differ per window.
 * - WINDOWS_FROM: when its windows began (all of them current then).
 * - EXCHANGED_AT: when the shared counter last answered for it (past SYNC_MS, the next call asks again).
 * - GENERATION: bumped whenever the slot starts afresh, so that a late answer about an earlier one
 *   changes nothing.
 * - ASKING: calls of this generation asking the shared counter now; until they are answered, a call is
 *   decided here only if it would fit were they all admitted.
 * - KNOWN_SEQ: which exchange with the shared counter KNOWN comes from. Exchanges are numbered as they
 *   are sent and each answer includes everything sent before it, so KNOWN only ever takes the answer of
 *   a later exchange, in whatever order the answers' continuations run.
 * - SENT: calls admitted here and sent, and KNOWN_SENT: how many of those the KNOWN totals include.
 * - UNSENT: calls admitted here, not sent yet.
 * - KNOWN, one per window: the total across processes in the answer of exchange KNOWN_SEQ.
 * This process's view of a window's total is KNOWN + (SENT - KNOWN_SENT) + UNSENT.
 */
const WINDOWS_FROM = 0;
const EXCHANGED_AT = 1;
const GENERATION = 2;
const ASKING = 3;
const KNOWN_SEQ = 4;
const SENT = 5;
const KNOWN_SENT = 6;
const UNSENT = 7;
const KNOWN = 8;

/** How often calls admitted here are added to the shared counter, which answers with the totals. */
const SYNC_MS = 20;

/**
 * How many times calls that no slot holds any more are sent, SYNC_MS apart, before they are given up (the
 * shared counter unreachable for a second): those of a slot are sent again as long as it lives.
 */
const SEND_ATTEMPTS = 50;

/**
 * Counts in this process against totals kept by a shared counter (a cluster's primary, or Redis). A call
 * asks the shared counter (exact) when this process has not heard the key's total in the last SYNC_MS
 * (the first call of a key in a window, or any call of a quiet key), after sending what it admitted
 * itself; otherwise it is decided here from that total plus this process's own calls since, and every
 * SYNC_MS the calls admitted here are added to the shared count, which answers with the new total. Every
 * admitted call is counted once for the whole deployment, and no refused one. Only a key called more
 * often than every SYNC_MS is decided locally, and what other processes admitted in those last SYNC_MS
 * may not be known yet: past a limit, at most that many calls more get through. Refusals are never
 * wrong: what this process knows of a total never exceeds the calls admitted.
 *
 * This relies on the transport's order (`CountTransport`): the requests of one process are counted in
 * the order they were sent.
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
  readonly #dirty = new Set<string>();
  #generation = 0;
  /** The number of the last exchange sent to the shared counter, for any key. */
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The answer of a call decided here, overwritten by the next one (see `hitInPlace`). */
  readonly #answer: WindowAnswer;

  constructor(shared: SharedWindowCounter, windows: readonly LimitWindow[], maxKeys = CLIENT_MAX_KEYS) {
    this.#shared = shared;
    this.#windows = windows;
    this.#maxKeys = maxKeys;
    this.#current = new CurrentWindows(windows);
    this.#table = new CountTable(KNOWN + windows.length);
    this.#answer = { allowed: true, windows, counts: windows.map(() => 0), resetsAt: [], retryAfterMs: 0 };
  }

  get enabled(): boolean {
    return this.#windows.length > 0;
  }

  /** Keys held now. */
  get size(): number {
    return this.#table.size;
  }

  /** Always: the shared counter may hold any key. */
  mayHold(_key: string): boolean {
    return true;
  }

  /** None: only keys whose calls the shared counter holds are dropped (`#dropOldestSettled`). */
  get forgotten(): number {
    return 0;
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
    let slot = table.slotOf(key);
    if (slot === -1) return this.#askShared(key, this.#begin(key, now, slot), now);
    const page = table.pageOf(slot);
    const at = table.offsetOf(slot);
    const from = page[at + WINDOWS_FROM] as number;
    if (!current.holdsAll(from)) {
      // A call dated before the windows this key counts in now: the shared counter alone can count it.
      if (from > now) return this.#shared.hit(key, now);
      // A window has turned: what was admitted here in the old ones still counts in those that have not.
      this.#send(key, slot);
      slot = this.#begin(key, now, slot);
    } else if (now - (page[at + EXCHANGED_AT] as number) <= SYNC_MS && this.#fitsBesideAsking(page, at)) {
      return this.#decideHere(key, page, at, current, now);
    } else {
      // Sent first, so that the shared counter judges the call with everything admitted here.
      this.#send(key, slot);
    }
    return this.#askShared(key, slot, now);
  }

  blockedFor(key: string, now: number): number | Promise<number> {
    return this.#shared.blockedFor(key, now);
  }

  /** Starts `key` afresh in the windows current at `now`, in `slot` or (-1) a new one; its slot. */
  #begin(key: string, now: number, slot: number): number {
    const table = this.#table;
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
    page[at + GENERATION] = ++this.#generation;
    return slot;
  }

  /** Decides the call from what is known here, and counts it as unsent when admitted. */
  #decideHere(
    key: string,
    page: Float64Array,
    at: number,
    current: CurrentWindows,
    now: number,
  ): WindowAnswer {
    const windows = this.#windows;
    const answer = this.#answer;
    const ours = this.#notKnown(page, at);
    let allowed = true;
    for (let i = 0; i < windows.length; i++) {
      const count = (page[at + KNOWN + i] as number) + ours;
      answer.counts[i] = count;
      if (count >= (windows[i] as LimitWindow).limit) allowed = false;
    }
    if (allowed) {
      (page[at + UNSENT] as number)++;
      for (let i = 0; i < windows.length; i++) (answer.counts[i] as number)++;
      this.#markDirty(key);
    }
    answer.allowed = allowed;
    answer.resetsAt = current.resetsAt;
    answer.retryAfterMs = allowed ? 0 : waitForExhausted(windows, answer.counts, current.resetsAt, now);
    return answer;
  }

  /**
   * Whether a call may be decided here while others of this process ask the shared counter: only if it
   * would fit were they all admitted, so that none of them is refused for it (far from the limits, as a
   * busy key mostly is, calls go on being decided here; near them, they ask too).
   */
  #fitsBesideAsking(page: Float64Array, at: number): boolean {
    const asking = page[at + ASKING] as number;
    if (asking === 0) return true;
    const ours = this.#notKnown(page, at);
    const windows = this.#windows;
    for (let i = 0; i < windows.length; i++) {
      if ((page[at + KNOWN + i] as number) + ours + asking >= (windows[i] as LimitWindow).limit) return false;
    }
    return true;
  }

  /** Calls admitted here that the KNOWN totals do not include yet. */
  #notKnown(page: Float64Array, at: number): number {
    return (page[at + SENT] as number) - (page[at + KNOWN_SENT] as number) + (page[at + UNSENT] as number);
  }

  /**
   * Counts the call at the shared counter, whose verdict stands: its totals include everything this
   * process sent before asking, and what is decided here meanwhile fits beside the call (`fitsBesideAsking`).
   * The counts stated are this process's view after the answer, its own calls since included.
   */
  async #askShared(key: string, slot: number, now: number): Promise<WindowState> {
    const table = this.#table;
    const page = table.pageOf(slot);
    const at = table.offsetOf(slot);
    const generation = page[at + GENERATION] as number;
    const sentBefore = page[at + SENT] as number;
    const seq = ++this.#seq;
    const stillOurs = () => this.#holds(key, slot, generation);
    (page[at + ASKING] as number)++;
    let asked: WindowState;
    try {
      asked = await this.#shared.hit(key, now);
    } finally {
      if (stillOurs()) (page[at + ASKING] as number)--;
    }
    // Started afresh meanwhile, in windows that began after this call: the answer is about older ones.
    if (!stillOurs()) return asked;
    this.#learn(page, at, seq, sentBefore, asked.counts);
    const ours = this.#notKnown(page, at);
    const counts = this.#windows.map((_, i) => (page[at + KNOWN + i] as number) + ours);
    const resetsAt = this.#current.at(now).resetsAt;
    return { ...asked, counts, resetsAt };
  }

  /** Whether `slot` still holds `key` in `generation` (it was neither given to another key nor started afresh). */
  #holds(key: string, slot: number, generation: number): boolean {
    const table = this.#table;
    return table.slotOf(key) === slot && table.pageOf(slot)[table.offsetOf(slot) + GENERATION] === generation;
  }

  /** Takes the totals answered to exchange `seq` (which included `sentBefore` of SENT), if newer. */
  #learn(page: Float64Array, at: number, seq: number, sentBefore: number, counts: readonly number[]): void {
    page[at + EXCHANGED_AT] = Date.now();
    if (seq <= (page[at + KNOWN_SEQ] as number)) return;
    page[at + KNOWN_SEQ] = seq;
    page[at + KNOWN_SENT] = sentBefore;
    for (let i = 0; i < counts.length; i++) page[at + KNOWN + i] = counts[i] as number;
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

  /** Whether `slot` has no calls asking, unsent, or sent and not yet known to have arrived. */
  #settled(slot: number): boolean {
    const page = this.#table.pageOf(slot);
    const at = this.#table.offsetOf(slot);
    return page[at + ASKING] === 0 && page[at + UNSENT] === 0 && page[at + SENT] === page[at + KNOWN_SENT];
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
    const unsent = page[at + UNSENT] as number;
    if (unsent === 0) return;
    const sentBefore = (page[at + SENT] as number) + unsent;
    page[at + SENT] = sentBefore;
    page[at + UNSENT] = 0;
    const seq = ++this.#seq;
    const generation = page[at + GENERATION] as number;
    const starts = windowStarts(this.#windows, page[at + WINDOWS_FROM] as number);
    const deltas = this.#windows.map(() => unsent);
    // Only while the slot is still this generation of this key: one started afresh owes nothing to this.
    const stillOurs = () => this.#holds(key, slot, generation);
    this.#shared.add(key, starts, deltas, Date.now()).then(
      (counts) => {
        if (stillOurs()) this.#learn(page, at, seq, sentBefore, counts);
      },
      () => {
        if (!stillOurs()) {
          // The key started afresh since (a window turned): these calls still count in the windows that
          // have not, and no slot holds them any more.
          this.#sendAgainAlone(key, starts, deltas, 1);
          return;
        }
        // Not counted there: send it again with the next batch. Answers to exchanges sent after this one
        // took it as arrived; from here on only those of later exchanges are believed.
        (page[at + SENT] as number) -= unsent;
        (page[at + UNSENT] as number) += unsent;
        if ((page[at + KNOWN_SEQ] as number) > seq) (page[at + KNOWN_SENT] as number) -= unsent;
        page[at + KNOWN_SEQ] = Math.max(page[at + KNOWN_SEQ] as number, this.#seq);
        this.#markDirty(key);
      },
    );
  }

  /** Sends calls no slot holds any more after SYNC_MS, again on failure, up to SEND_ATTEMPTS in all. */
  #sendAgainAlone(key: string, starts: readonly number[], deltas: readonly number[], attempt: number): void {
    if (attempt >= SEND_ATTEMPTS) return;
    setTimeout(() => {
      this.#shared
        .add(key, starts, deltas, Date.now())
        .catch(() => this.#sendAgainAlone(key, starts, deltas, attempt + 1));
    }, SYNC_MS).unref();
  }
}
