/** What the client reports as it works, for logs and metrics. Never carries a key or a token. */
export interface SdkEvents {
  /** A token was obtained: from the token endpoint (`fetched`) or from the shared store (`shared`). */
  token: { readonly source: 'fetched' | 'shared'; readonly expiresAt: number; readonly refresh: boolean };
  /** A request is sent again: after a 401 with a fresh token, or after a 429. */
  retry: { readonly reason: 'invalid_token' | 'rate_limited'; readonly attempt: number };
  /** The server rate limited a request; `waitMs` is how long the client waits before retrying. */
  rateLimited: { readonly status: 429; readonly waitMs: number | undefined; readonly attempt: number };
}

export type SdkEventName = keyof SdkEvents;
export type SdkListener<E extends SdkEventName> = (event: SdkEvents[E]) => void;

/** A minimal typed emitter: listeners that throw are isolated from the request that emitted. */
export class SdkEventEmitter {
  readonly #listeners = new Map<SdkEventName, Set<(event: never) => void>>();

  on<E extends SdkEventName>(name: E, listener: SdkListener<E>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => set.delete(listener as (event: never) => void);
  }

  emit<E extends SdkEventName>(name: E, event: SdkEvents[E]): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        (listener as SdkListener<E>)(event);
      } catch {
        // A faulty listener must not fail the request that reported the event.
      }
    }
  }
}
