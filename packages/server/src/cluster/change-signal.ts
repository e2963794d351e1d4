/**
 * Tells the other processes of a deployment that this one wrote a change, so that they read the store's
 * change feed at once instead of at their next poll (which stays the safety net). Redis carries it across
 * nodes; a cluster's primary relays it between workers.
 */
export interface ChangeSignal {
  announce(): void;
  subscribe(listener: () => void): void;
}
