/**
 * The last hour of traffic, for the dashboard's overview (`GET /admin/v1/stats`): each process samples
 * its own counter totals (the same counters as `/metrics`) on wall-clock boundaries, so that every
 * worker's slots line up (slot n covers [n·interval, (n+1)·interval)), and turns consecutive samples into
 * counts per slot. A request on one worker sums every worker's counts slot by slot.
 *
 * Counts per slot are computed in each process, before summing: a process's totals only grow, and a
 * restarted worker is a new process whose history starts empty, so no count can go negative.
 */

/** The counters followed, in the order of a slot's counts. */
export const TRAFFIC_SERIES = ['requests', 'tokens', 'authenticationFailures', 'limitRefusals'] as const;

export type TrafficSeries = (typeof TRAFFIC_SERIES)[number];

/** One process's counter totals since it started, in TRAFFIC_SERIES order. */
export type TrafficTotals = readonly number[];

/** Ten seconds: 360 slots make the hour. */
export const TRAFFIC_INTERVAL_MS = 10_000;
export const TRAFFIC_SLOTS = 360;

/** One process's counts per slot, as it reports them to the worker that asked (it crosses IPC as is). */
export interface TrafficReport {
  readonly intervalMs: number;
  /** The slot of `counts[0]`: when the process started, or the oldest slot kept. */
  readonly firstSlot: number;
  /** Per slot from `firstSlot` to the current one (partial, up to now): counts in TRAFFIC_SERIES order. */
  readonly counts: readonly (readonly number[])[];
}

/** The counts of one slot, summed over the processes. */
export interface TrafficPoint {
  /** When the slot began (epoch milliseconds). */
  readonly at: number;
  readonly counts: Readonly<Record<TrafficSeries, number>>;
}

/** Every process's traffic, merged: oldest slot first, the last one the current, partial slot. */
export interface TrafficStats {
  readonly intervalMs: number;
  readonly points: readonly TrafficPoint[];
  /** The processes whose counts these are (with `--workers N`, those that answered in time). */
  readonly workers: number;
}

export interface TrafficHistoryOptions {
  /** Default TRAFFIC_INTERVAL_MS; tests use less. */
  readonly intervalMs?: number;
  /** Slots kept; default TRAFFIC_SLOTS. */
  readonly slots?: number;
  /** The clock (epoch milliseconds); default `Date.now`. */
  readonly now?: () => number;
}

interface Sample {
  readonly slot: number;
  readonly totals: TrafficTotals;
}

/**
 * One process's ring of samples, one per slot: the totals at the first moment of the slot it was
 * sampled in. The current slot's counts are read at request time (totals now minus its sample), so a
 * request sees traffic of the last instant.
 */
export class TrafficHistory {
  readonly #read: () => TrafficTotals;
  readonly #intervalMs: number;
  readonly #ring: (Sample | undefined)[];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  /** @param read this process's totals since it started, in TRAFFIC_SERIES order. */
  constructor(read: () => TrafficTotals, options: TrafficHistoryOptions = {}) {
    const intervalMs = options.intervalMs ?? TRAFFIC_INTERVAL_MS;
    const slots = options.slots ?? TRAFFIC_SLOTS;
    if (!Number.isInteger(intervalMs) || intervalMs < 1)
      throw new RangeError('intervalMs: a positive integer');
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError('slots: a positive integer');
    this.#read = read;
    this.#intervalMs = intervalMs;
    this.#ring = new Array<Sample | undefined>(slots).fill(undefined);
    this.#now = options.now ?? Date.now;
  }

  /** Takes the first sample now (the totals before any traffic) and one at the start of each slot. */
  start(): void {
    this.sample();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Records the totals for the current slot, unless it has its sample (the earliest is the closest to its start). */
  sample(): void {
    const slot = this.#slotAt(this.#now());
    const index = slot % this.#ring.length;
    if (this.#ring[index]?.slot === slot) return;
    this.#ring[index] = { slot, totals: [...this.#read()] };
  }

  /** Counts per slot, from the oldest sample kept to the current slot, which counts up to now. */
  report(): TrafficReport {
    const current = this.#slotAt(this.#now());
    const oldest = current - this.#ring.length + 1;
    const samples = this.#ring
      .filter(
        (sample): sample is Sample => sample !== undefined && sample.slot >= oldest && sample.slot <= current,
      )
      .sort((a, b) => a.slot - b.slot);
    // Now's totals close the current slot.
    samples.push({ slot: current + 1, totals: this.#read() });
    const firstSlot = (samples[0] as Sample).slot;
    const counts = Array.from({ length: current - firstSlot + 1 }, () => TRAFFIC_SERIES.map(() => 0));
    for (let i = 0; i + 1 < samples.length; i++) {
      const from = samples[i] as Sample;
      const to = samples[i + 1] as Sample;
      // A slot without its sample (the event loop was held past a boundary, the clock moved) leaves its
      // traffic in the slot sampled before it: it cannot be told apart.
      const row = counts[from.slot - firstSlot] as number[];
      TRAFFIC_SERIES.forEach((_series, k) => {
        row[k] = Math.max(0, (to.totals[k] ?? 0) - (from.totals[k] ?? 0));
      });
    }
    return { intervalMs: this.#intervalMs, firstSlot, counts };
  }

  #slotAt(ms: number): number {
    return Math.floor(ms / this.#intervalMs);
  }

  /** A timeout per slot rather than an interval: each is aimed at the next boundary, so none drifts. */
  #schedule(): void {
    if (this.#stopped) return;
    const now = this.#now();
    const wait = this.#intervalMs - (now % this.#intervalMs);
    this.#timer = setTimeout(() => {
      this.sample();
      this.#schedule();
    }, wait);
    this.#timer.unref();
  }
}

/**
 * Sums the processes' reports slot by slot, over the `maxPoints` slots up to the latest any reported
 * (a slot none of them covers, such as before any started, is left out at the start, and counts 0 between).
 */
export function mergeTraffic(reports: readonly TrafficReport[], maxPoints: number): TrafficStats {
  const intervalMs = reports[0]?.intervalMs ?? TRAFFIC_INTERVAL_MS;
  // Every process runs the same code, so with the same interval; one that did not could not be summed.
  const alike = reports.filter((report) => report.intervalMs === intervalMs && report.counts.length > 0);
  if (alike.length === 0) return { intervalMs, points: [], workers: 0 };
  const last = Math.max(...alike.map(({ firstSlot, counts }) => firstSlot + counts.length - 1));
  const first = Math.max(Math.min(...alike.map(({ firstSlot }) => firstSlot)), last - maxPoints + 1);
  const sums = Array.from({ length: last - first + 1 }, () => TRAFFIC_SERIES.map(() => 0));
  for (const { firstSlot, counts } of alike) {
    counts.forEach((row, offset) => {
      const sum = sums[firstSlot + offset - first];
      if (sum === undefined) return;
      TRAFFIC_SERIES.forEach((_series, k) => {
        sum[k] = (sum[k] as number) + Math.max(0, row[k] ?? 0);
      });
    });
  }
  const points = sums.map((sum, offset): TrafficPoint => {
    const counts = Object.fromEntries(TRAFFIC_SERIES.map((series, k) => [series, sum[k] as number]));
    return { at: (first + offset) * intervalMs, counts: counts as Record<TrafficSeries, number> };
  });
  return { intervalMs, points, workers: alike.length };
}
