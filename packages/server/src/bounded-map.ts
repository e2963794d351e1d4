/**
 * Sets `key` in a map that may hold at most `maxSize` entries, dropping the oldest (maps iterate in
 * insertion order) to make room, so that caches and counters keyed by what requests send stay bounded.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, maxSize: number): void {
  if (map.size >= maxSize && !map.has(key)) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

/**
 * How many recently used entries one insertion may pass over before it evicts regardless, so that an
 * insertion costs a bounded amount of work (about 0.1 ms) even when every entry was used since the hand
 * last passed. Passing over an entry spends its mark, and marks come only from uses, so on average an
 * insertion costs a step or two.
 */
const MAX_SECOND_CHANCES = 1024;

/**
 * The mark a `SecondChanceMap` value carries: set by each use, taken (and cleared) when the hand passes.
 * Private, so that it never shows among the value's own fields.
 */
export class UseMark {
  #used = false;

  markUsed(): void {
    this.#used = true;
  }

  /** Whether it was used since it was queued; clears the mark. */
  takeMark(): boolean {
    const used = this.#used;
    this.#used = false;
    return used;
  }
}

/**
 * A map of at most `maxSize` entries that evicts what has not been used recently (second chance, the
 * FIFO form of the CLOCK algorithm; an approximation of least-recently-used). The map's insertion order
 * is a queue and a live iterator is the hand at its head: an entry the hand reaches whose value was
 * marked used since it was last queued (`UseMark`; taking the mark clears it) goes to the back of the
 * queue, anything else is evicted, null values (remembered misses) first of all. A use costs the caller
 * one mark on the value rather than a reordering of the map; an insertion costs at most
 * `MAX_SECOND_CHANCES` steps of the hand. Evicting by insertion order alone
 * would drop the oldest entry however busy it is, so that a working set one entry larger than the bound
 * would miss on every call.
 */
export class SecondChanceMap<K, V extends UseMark | null> {
  readonly #map = new Map<K, V>();
  readonly #maxSize: number;
  /** The hand. Live: it sees the entries queued after it was made, and skips those deleted. */
  #hand: Iterator<[K, V]> | undefined;

  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  /** Sets `key`; a new key joins the back of the queue, an existing one keeps its place. */
  set(key: K, value: V): void {
    if (this.#map.size >= this.#maxSize && !this.#map.has(key)) this.#evictOne();
    this.#map.set(key, value);
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }

  #evictOne(): void {
    for (let step = 0; ; step++) {
      let next = this.#hand?.next();
      if (next === undefined || next.done === true) {
        // The queue's head, when the hand has reached its end (only entries deleted meanwhile lay ahead).
        this.#hand = this.#map.entries();
        next = this.#hand.next();
        if (next.done === true) return;
      }
      const [key, value] = next.value;
      this.#map.delete(key);
      if (step < MAX_SECOND_CHANCES && value?.takeMark() === true) this.#map.set(key, value);
      else return;
    }
  }
}
