/** Slots per page: a table grows one page at a time, so growing never copies what it holds. */
const PAGE_SLOTS = 4096;

/**
 * `width` numbers per key, kept in pages of a typed array rather than in an object (and arrays) per key:
 * a key costs its map entry and 8 bytes per number, and growing adds a page without copying, so a large
 * table never pauses the process to move. Slots of deleted keys are used again.
 *
 * Map order is the order keys were inserted or last `renewed`: `oldestKey` is the one renewed longest ago.
 */
export class CountTable {
  readonly width: number;
  readonly #slots = new Map<string, number>();
  readonly #pages: Float64Array[] = [];
  readonly #free: number[] = [];
  #used = 0;

  constructor(width: number) {
    this.width = width;
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The slot of `key`, or -1. */
  slotOf(key: string): number {
    return this.#slots.get(key) ?? -1;
  }

  /** A slot for `key`, which must not be in the table yet, with its numbers all 0. */
  insert(key: string): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#used++;
      if (slot % PAGE_SLOTS === 0) this.#pages.push(new Float64Array(PAGE_SLOTS * this.width));
    } else {
      this.pageOf(slot).fill(0, this.offsetOf(slot), this.offsetOf(slot) + this.width);
    }
    this.#slots.set(key, slot);
    return slot;
  }

  delete(key: string): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#slots.delete(key);
    this.#free.push(slot);
  }

  /** Moves `key` to the end of the order, as if inserted now: it is the last `oldestKey` answers. */
  renew(key: string, slot: number): void {
    this.#slots.delete(key);
    this.#slots.set(key, slot);
  }

  /** The key inserted or renewed longest ago. */
  oldestKey(): string | undefined {
    return this.#slots.keys().next().value;
  }

  /** The page holding `slot`'s numbers, from `offsetOf(slot)` on. */
  pageOf(slot: number): Float64Array {
    return this.#pages[(slot / PAGE_SLOTS) | 0] as Float64Array;
  }

  offsetOf(slot: number): number {
    return (slot % PAGE_SLOTS) * this.width;
  }
}
