/**
 * Remembers when each API key was last used and writes it to the store in batches, so that "last used"
 * costs no store write on the request path.
 */
export class KeyUsage {
  #pending = new Map<string, number>();

  touch(keyId: string, now: number): void {
    this.#pending.set(keyId, now);
  }

  /** The uses since the last call, emptied. */
  take(): ReadonlyMap<string, number> {
    const taken = this.#pending;
    this.#pending = new Map();
    return taken;
  }
}
