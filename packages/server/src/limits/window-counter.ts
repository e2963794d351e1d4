import { FixedWindows } from './fixed-windows.js';
import type { LimitWindow } from './window-spec.js';
import type { WindowState } from './window-state.js';

/**
 * Counts events per key in fixed windows. In this process (`FixedWindows`), or shared by every worker
 * and node (Redis, or a cluster's primary process), so that a limit holds for the whole service.
 * A refused event is not counted.
 */
export interface WindowCounter {
  readonly enabled: boolean;
  hit(key: string, now: number): WindowState | Promise<WindowState>;
  /** Without counting: milliseconds until `key` may act again, or 0. */
  blockedFor(key: string, now: number): number | Promise<number>;
}

/**
 * Makes the counter of one kind of event (`space`, such as `api` or `token`) with its windows. Counters
 * of the same space and windows made by different workers or nodes count together.
 */
export type CounterFactory = (space: string, windows: readonly LimitWindow[]) => WindowCounter;

export const inProcessCounters: CounterFactory = (_space, windows) => new FixedWindows(windows);
