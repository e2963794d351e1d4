import type { LimitWindow } from './window-spec.js';

/**
 * The windows of one set that are current at a time, shared by every key counted in them: windows are
 * aligned on multiples of their length since the epoch, so all keys' windows start and turn together,
 * and a key needs only the time it was last counted (`holdsAll`, `holds`) instead of a start per window.
 * Worked out again only when `now` leaves the span in which none of them turns.
 */
export class CurrentWindows {
  readonly windows: readonly LimitWindow[];
  /** When each current window began, milliseconds since the epoch. */
  readonly starts: number[];
  /** When each current window turns; a new array whenever one turns, so that its identity marks a turn. */
  resetsAt: readonly number[] = [];
  /** The span in which every window is the current one: from the latest start to the earliest turn. */
  #from = Number.POSITIVE_INFINITY;
  #to = Number.NEGATIVE_INFINITY;

  constructor(windows: readonly LimitWindow[]) {
    this.windows = windows;
    this.starts = windows.map(() => 0);
  }

  /** Brings the windows to those current at `now`; `this`, for chaining. */
  at(now: number): this {
    if (now >= this.#from && now < this.#to) return this;
    let from = Number.NEGATIVE_INFINITY;
    let to = Number.POSITIVE_INFINITY;
    const resetsAt: number[] = [];
    for (let i = 0; i < this.windows.length; i++) {
      const { windowMs } = this.windows[i] as LimitWindow;
      const start = now - (now % windowMs);
      this.starts[i] = start;
      resetsAt.push(start + windowMs);
      from = Math.max(from, start);
      to = Math.min(to, start + windowMs);
    }
    this.#from = from;
    this.#to = to;
    this.resetsAt = resetsAt;
    return this;
  }

  /** Whether an event at `time` fell in every current window (so counts made then are still current). */
  holdsAll(time: number): boolean {
    return time >= this.#from && time < this.#to;
  }

  /** Whether an event at `time` fell in current window `i`. */
  holds(i: number, time: number): boolean {
    return time >= (this.starts[i] as number) && time < (this.resetsAt[i] as number);
  }
}
