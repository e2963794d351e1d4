/**
 * Whether two kinds of request take distinguishably different times, from paired samples taken
 * alternately (so that drift in machine load affects both alike). A paired Welch-style t statistic over
 * the per-pair differences, after dropping the slowest 10% of pairs (scheduler and GC pauses), as in
 * dudect's approach; |t| above 4.5 is dudect's threshold for "a leak is detected".
 */
export interface TimingComparison {
  /** Mean of (a - b) in microseconds. */
  readonly meanDifferenceUs: number;
  /** Median time of `a` in microseconds, for scale. */
  readonly medianUs: number;
  readonly t: number;
  readonly pairs: number;
}

export const LEAK_T_THRESHOLD = 4.5;

export function compareTimings(a: readonly number[], b: readonly number[]): TimingComparison {
  const pairs = a.map((value, i) => ({
    a: value,
    b: b[i] as number,
    slowest: Math.max(value, b[i] as number),
  }));
  pairs.sort((x, y) => x.slowest - y.slowest);
  const kept = pairs.slice(0, Math.floor(pairs.length * 0.9));
  const differences = kept.map((pair) => pair.a - pair.b);
  const mean = differences.reduce((sum, d) => sum + d, 0) / differences.length;
  const variance = differences.reduce((sum, d) => sum + (d - mean) ** 2, 0) / (differences.length - 1);
  const sortedA = kept.map((pair) => pair.a).sort((x, y) => x - y);
  return {
    meanDifferenceUs: mean,
    medianUs: sortedA[Math.floor(sortedA.length / 2)] as number,
    t: mean / Math.sqrt(variance / differences.length),
    pairs: differences.length,
  };
}
