import type { CredentialRehash } from '../store/store.js';

/** A credential to move to the current secret's HMAC, and the client whose cached entry it changes. */
export interface PendingRehash {
  readonly rehash: CredentialRehash;
  readonly clientId: string | undefined;
}

/**
 * API keys and introspector keys verified under an older server secret, gathered in memory and moved to
 * the current secret's HMAC in batches (like `KeyUsage`), so that verifying costs no store write. Once
 * every key has been used the older secret verifies nothing, and can be dropped.
 */
export class CredentialRehashes {
  #pending = new Map<string, PendingRehash>();

  add(rehash: CredentialRehash, clientId?: string): void {
    this.#pending.set(`${rehash.kind}:${rehash.id}`, { rehash, clientId });
  }

  /** What was gathered since the last call, emptied. */
  take(): PendingRehash[] {
    const taken = [...this.#pending.values()];
    this.#pending = new Map();
    return taken;
  }
}
