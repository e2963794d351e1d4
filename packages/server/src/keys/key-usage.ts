/**
 * Remembers when each API key was last used and hands the uses out to be written to the store in
 * batches, so that "last used" costs no store write on the request path; and each key at most once per
 * `minIntervalMs`, with its latest use, so that 100,000 keys in steady use do not mean 100,000 rows written
 * every few seconds (at about 6 µs a row on SQLite, an eighth of a core). A key's first use is handed out
 * at the next flush; later ones are at most `minIntervalMs` late.
 */
export class KeyUsage {
  readonly #minIntervalMs: number;
  /** Uses not yet handed out, by key. */
  readonly #pending = new Map<string, number>();
  /** When each key was last handed out, oldest first, for keys handed out within the interval. */
  readonly #handedOut = new Map<string, number>();

  /** @param minIntervalMs how long after a key is handed out its later uses wait (default a minute). */
  constructor(minIntervalMs = 60_000) {
    this.#minIntervalMs = minIntervalMs;
  }

  touch(keyId: string, now: number): void {
    this.#pending.set(keyId, now);
  }

  /** The uses due at `now` (every use held, with `everything`, as when the process stops). */
  take(now: number, everything = false): ReadonlyMap<string, number> {
    this.#forgetHandedOutBefore(now - this.#minIntervalMs);
    const due = new Map<string, number>();
    for (const [keyId, at] of this.#pending) {
      if (!everything && this.#handedOut.has(keyId)) continue;
      due.set(keyId, at);
      this.#pending.delete(keyId);
      this.#handedOut.set(keyId, now);
    }
    return due;
  }

  /** Keys are handed out in time order, so the map's order is theirs: stop at the first recent one. */
  #forgetHandedOutBefore(cutoff: number): void {
    for (const [keyId, at] of this.#handedOut) {
      if (at > cutoff) return;
      this.#handedOut.delete(keyId);
    }
  }
}
