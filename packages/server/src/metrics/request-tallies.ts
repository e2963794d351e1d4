/**
 * Requests are tallied in plain numbers, and turned into prom-client's metrics only when scraped:
 * prom-client's `inc` and `observe` hash and check their labels on every call (about 1 µs each, measured),
 * where a tally is a map lookup and a few array writes.
 */

/** One request's outcome, as the router hands it over when the connection is done with the request. */
export interface RequestMetrics {
  record(route: string, status: number, seconds: number, clientId: string | undefined): void;
}

/** The status classes counted, in the order of `Tally.classes`. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

interface Tally {
  readonly listener: string;
  readonly route: string;
  /** Requests by status class (STATUS_CLASSES). */
  readonly classes: Float64Array;
  /** The same per ClientId (`metricsPerClient`); '' for requests of no client. */
  readonly byClient: Map<string, Float64Array> | undefined;
  /** Observations per bucket, not cumulative; the last one is past the largest bound (`+Inf`). */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** A sample as prom-client's metrics give it (`get()`), which its registry writes and aggregates. */
export interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

export class RequestTallies {
  readonly #bounds: readonly number[];
  readonly #perClient: boolean;
  readonly #tallies: Tally[] = [];

  constructor(bounds: readonly number[], perClient: boolean) {
    this.#bounds = bounds;
    this.#perClient = perClient;
  }

  /** The recording of one listener's requests; its routes' tallies are found by name alone. */
  recorderFor(listener: string): RequestMetrics {
    const byRoute = new Map<string, Tally>();
    const bounds = this.#bounds;
    const tallyOf = (route: string): Tally => {
      let tally = byRoute.get(route);
      if (tally === undefined) {
        // Route names are the route table's, a fixed few: the map stays small.
        tally = {
          listener,
          route,
          classes: new Float64Array(STATUS_CLASSES.length),
          byClient: this.#perClient ? new Map() : undefined,
          buckets: new Float64Array(bounds.length + 1),
          sum: 0,
          count: 0,
        };
        byRoute.set(route, tally);
        this.#tallies.push(tally);
      }
      return tally;
    };
    return {
      record(route, status, seconds, clientId) {
        const tally = tallyOf(route);
        const index = classIndex(status);
        (tally.classes[index] as number)++;
        if (tally.byClient !== undefined) {
          const key = clientId ?? '';
          let classes = tally.byClient.get(key);
          if (classes === undefined) {
            classes = new Float64Array(STATUS_CLASSES.length);
            tally.byClient.set(key, classes);
          }
          (classes[index] as number)++;
        }
        let bucket = 0;
        while (bucket < bounds.length && seconds > (bounds[bucket] as number)) bucket++;
        (tally.buckets[bucket] as number)++;
        tally.sum += seconds;
        tally.count++;
      },
    };
  }

  /** Every request of `listener` answered so far, whatever its route and status. */
  total(listener: string): number {
    let total = 0;
    for (const tally of this.#tallies) if (tally.listener === listener) total += tally.count;
    return total;
  }

  /** The request counts, one sample per series with requests, labelled as the counter's. */
  counts(): Sample[] {
    const samples: Sample[] = [];
    for (const { listener, route, classes, byClient } of this.#tallies) {
      const perClient = byClient === undefined ? [['', classes] as const] : [...byClient];
      for (const [clientId, counts] of perClient) {
        counts.forEach((value, index) => {
          if (value === 0) return;
          const labels = { listener, route, status_class: STATUS_CLASSES[index] as string };
          samples.push({
            labels: byClient === undefined ? labels : { ...labels, client_id: clientId },
            value,
          });
        });
      }
    }
    return samples;
  }

  /** The duration histogram's samples, as prom-client's `Histogram` gives them (cumulative buckets). */
  durations(name: string): Sample[] {
    const samples: Sample[] = [];
    for (const { listener, route, buckets, sum, count } of this.#tallies) {
      let cumulative = 0;
      this.#bounds.forEach((le, index) => {
        cumulative += buckets[index] as number;
        samples.push({ labels: { le, listener, route }, value: cumulative, metricName: `${name}_bucket` });
      });
      samples.push(
        { labels: { le: '+Inf', listener, route }, value: count, metricName: `${name}_bucket` },
        { labels: { listener, route }, value: sum, metricName: `${name}_sum` },
        { labels: { listener, route }, value: count, metricName: `${name}_count` },
      );
    }
    return samples;
  }
}

/** 1xx…5xx as 0…4; anything outside (none is sent) counts in the nearest class. */
function classIndex(status: number): number {
  return Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1;
}
