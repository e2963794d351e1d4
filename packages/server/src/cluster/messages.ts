import type { LimitWindow } from '../limits/window-spec.js';
import type { WindowState } from '../limits/window-state.js';

/** What workers and their primary say to each other over the cluster's IPC channel. */

/** Counter requests made in one turn of a worker's event loop, sent together. */
export interface CounterRequests {
  readonly kind: 'portcullis.counters';
  readonly requests: readonly CounterRequest[];
}

export interface CounterRequest {
  readonly id: number;
  /** `hit`: count one event if every window allows it; `add`: add events a worker already admitted. */
  readonly op: 'hit' | 'blockedFor' | 'add';
  readonly space: string;
  readonly windows: readonly LimitWindow[];
  readonly key: string;
  readonly now: number;
  /** For `add`: when each window began, and how many events were admitted in it. */
  readonly starts?: readonly number[];
  readonly deltas?: readonly number[];
}

export interface CounterReplies {
  readonly kind: 'portcullis.counters.reply';
  readonly replies: readonly { readonly id: number; readonly result: WindowState | number }[];
}

/** A worker wrote a change (or the primary relays one): read the store's change feed now. */
export interface ChangeAnnouncement {
  readonly kind: 'portcullis.changed';
}

/** A worker is accepting connections. */
export interface Listening {
  readonly kind: 'portcullis.listening';
  readonly port: number;
}

export type ClusterMessage = CounterRequests | CounterReplies | ChangeAnnouncement | Listening;

export function isClusterMessage(value: unknown): value is ClusterMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    (value as { kind: string }).kind.startsWith('portcullis.')
  );
}
