import type { TrafficPoint } from '../metrics/metrics.js';
import { badFields } from './admin-input.js';
import type { AdminResource } from './router.js';

/** The overview covers at most the traffic history's hour. */
const MAX_MINUTES = 60;

/**
 * `/stats`: the dashboard's overview. Traffic per 10-second slot over the last hour (public API requests,
 * tokens issued, authentication failures, limit refusals: the counters of `/metrics`), summed over every
 * worker process, oldest first; the last slot is the current one, counted up to the request. Store and
 * cache health as /readyz sees them.
 */
export const statsResources: readonly AdminResource[] = [
  {
    name: 'stats.read',
    method: 'GET',
    path: '/stats',
    role: 'viewer',
    query: ['minutes'],
    async handle({ services, query }) {
      const minutes = readMinutes(query);
      const { traffic, store, cache } = await services.metrics.overview();
      const kept = Math.ceil((minutes * 60_000) / traffic.intervalMs);
      return {
        status: 200,
        body: {
          intervalSeconds: traffic.intervalMs / 1000,
          points: traffic.points.slice(-kept).map(pointBody),
          workers: traffic.workers,
          store,
          cache,
        },
      };
    },
  },
];

function pointBody({ at, counts }: TrafficPoint) {
  return { at: new Date(at).toISOString(), ...counts };
}

/** `minutes`: 1 to 60, default 60. */
function readMinutes(query: URLSearchParams): number {
  const text = query.get('minutes');
  if (text === null) return MAX_MINUTES;
  const minutes = /^\d{1,2}$/.test(text) ? Number(text) : Number.NaN;
  if (!(minutes >= 1 && minutes <= MAX_MINUTES)) throw badFields({ minutes: `must be 1 to ${MAX_MINUTES}` });
  return minutes;
}
