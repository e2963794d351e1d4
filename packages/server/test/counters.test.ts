import type { Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../src/cache/redis-cache.js';
import type { ClusterMessage, CounterCall } from '../src/cluster/messages.js';
import { WorkerHub } from '../src/cluster/primary-side.js';
import { FixedWindows } from '../src/limits/fixed-windows.js';
import { rateLimitHeaders, retryAfterHeader } from '../src/limits/rate-limit-headers.js';
import {
  type CountSubject,
  type CountTransport,
  type HitCounts,
  sharedCounters,
} from '../src/limits/shared-counters.js';
import { inProcessCounters } from '../src/limits/window-counter.js';
import type { LimitWindow } from '../src/limits/window-spec.js';
import { REDIS_URL, servicesReachable } from './helpers/backends.js';

/**
 * Limit counters keep numbers; headers are written from them by one function at the edge. Every transport
 * of shared counts (the cluster's primary over IPC, Redis) answers the same numbers for the same calls.
 * Times are given, never waited for.
 */
const WINDOWS: readonly LimitWindow[] = [
  { limit: 2, windowMs: 1000 },
  { limit: 3, windowMs: 10_000 },
];
const NOW = 1_700_000_000_000; // aligned on both windows

describe('rate-limit headers, written from numbers at the edge', () => {
  it("writes MANGOPAY's X-RateLimit headers, one comma-separated value per window", () => {
    const windows = [
      { limit: 3, windowMs: 3_600_000 },
      { limit: 5, windowMs: 86_400_000 },
    ];
    const now = NOW + 1234;
    const state = new FixedWindows(windows).hit('acme', now);
    expect(state).toMatchObject({ allowed: true, counts: [1, 1], retryAfterMs: 0 });
    expect(rateLimitHeaders(state)).toEqual({
      'X-RateLimit': '1,1',
      'X-RateLimit-Remaining': '2,4',
      'X-RateLimit-Reset': `${(NOW - (NOW % 3_600_000) + 3_600_000) / 1000},${(NOW - (NOW % 86_400_000) + 86_400_000) / 1000}`,
    });
    // The hour turns: the reset of that window moves, the day's stays.
    const nextHour = new FixedWindows(windows).hit('acme', NOW - (NOW % 3_600_000) + 3_600_000);
    expect(rateLimitHeaders(nextHour)['X-RateLimit-Reset']).toBe(
      `${(NOW - (NOW % 3_600_000) + 7_200_000) / 1000},${(NOW - (NOW % 86_400_000) + 86_400_000) / 1000}`,
    );
  });

  it('states no fewer than zero remaining, and Retry-After in whole seconds, at least one (RFC 9110 §10.2.3)', () => {
    const counter = new FixedWindows([{ limit: 1, windowMs: 10_000 }]);
    counter.hit('acme', NOW);
    const refused = counter.hit('acme', NOW + 500);
    expect(refused).toMatchObject({ allowed: false, counts: [1], retryAfterMs: 9500 });
    expect(rateLimitHeaders(refused)['X-RateLimit-Remaining']).toBe('0');
    expect(retryAfterHeader(refused.retryAfterMs)).toEqual({ 'Retry-After': '10' });
    expect(retryAfterHeader(1)).toEqual({ 'Retry-After': '1' });
    expect(retryAfterHeader(0)).toEqual({ 'Retry-After': '1' });
  });
});

/** The primary's side of the IPC channel, driven the way a worker drives it, one request at a time. */
function primaryOverIpc(): CountTransport & { readonly replies: unknown[] } {
  const hub = new WorkerHub(true);
  const worker = new EventEmitter() as EventEmitter & { replied?: (message: ClusterMessage) => void };
  const replies: unknown[] = [];
  Object.assign(worker, {
    isConnected: () => true,
    // What crosses the channel is structured-cloned: the reply is cloned here too.
    send: (message: ClusterMessage) => {
      replies.push(structuredClone(message));
      worker.replied?.(structuredClone(message));
    },
  });
  hub.add(worker as unknown as Worker, () => undefined);
  let nextId = 1;
  const ask = (call: CounterCall) =>
    new Promise<HitCounts>((resolve) => {
      worker.replied = (message) => {
        const reply = message.kind === 'portcullis.counters.reply' ? message.replies[0] : undefined;
        if (reply !== undefined) resolve({ counts: reply.counts, allowed: reply.allowed });
      };
      const requests = [structuredClone({ ...call, id: nextId++ })];
      worker.emit('message', { kind: 'portcullis.counters', requests });
    });
  return {
    replies,
    hit: (subject) => ask({ op: 'hit', ...subject }),
    counts: async (subject) => (await ask({ op: 'counts', ...subject })).counts,
    add: async (subject, starts, deltas) => (await ask({ op: 'add', ...subject, starts, deltas })).counts,
  };
}

function subject(space: string, key: string, now: number): CountSubject {
  return { space, windows: WINDOWS, key, now };
}

const redisReachable = (await servicesReachable()).ok;
const redisCaches: RedisCache[] = [];
afterAll(async () => {
  for (const cache of redisCaches) await cache.close();
});

async function redis(): Promise<CountTransport> {
  const cache = new RedisCache(REDIS_URL, {
    keyPrefix: `portcullis_test_${randomBytes(6).toString('hex')}:`,
    timeoutMs: 2000,
  });
  redisCaches.push(cache);
  await cache.ready(2000);
  return cache;
}

describe.each([
  { transport: 'the primary, over IPC', make: async () => primaryOverIpc(), skip: false },
  { transport: 'Redis', make: redis, skip: !redisReachable },
])('counts kept by $transport', ({ make, skip }) => {
  it.skipIf(skip)('counts a hit in every window, or in none when one is full', async () => {
    const transport = await make();
    const hit = () => transport.hit(subject('api', 'acme', NOW));
    expect(await hit()).toEqual({ counts: [1, 1], allowed: true });
    expect(await hit()).toEqual({ counts: [2, 2], allowed: true });
    expect(await hit()).toEqual({ counts: [2, 2], allowed: false });
    // The short window turns; the long one is full after one more.
    const later = () => transport.hit(subject('api', 'acme', NOW + 1000));
    expect(await later()).toEqual({ counts: [1, 3], allowed: true });
    expect(await later()).toEqual({ counts: [1, 3], allowed: false });
    expect(await transport.hit(subject('api', 'other', NOW))).toEqual({ counts: [1, 1], allowed: true });
    expect(await transport.hit(subject('token', 'acme', NOW))).toEqual({ counts: [1, 1], allowed: true });
  });

  it.skipIf(skip)(
    'reads counts without counting, and adds counts admitted elsewhere past the limits',
    async () => {
      const transport = await make();
      expect(await transport.counts(subject('failed-address', 'acme', NOW))).toEqual([0, 0]);
      expect(await transport.add(subject('failed-address', 'acme', NOW), [NOW, NOW], [5, 4])).toEqual([5, 4]);
      expect(await transport.counts(subject('failed-address', 'acme', NOW + 999))).toEqual([5, 4]);
      expect(await transport.counts(subject('failed-address', 'acme', NOW + 1000))).toEqual([0, 4]);
    },
  );
});

describe('the counters of a deployment', () => {
  it('in one process are exact and not shared', () => {
    expect(inProcessCounters.shared).toBe(false);
    expect(inProcessCounters.exact('failed-pair', WINDOWS)).toBeInstanceOf(FixedWindows);
    expect(inProcessCounters.synced('api', WINDOWS)).toBeInstanceOf(FixedWindows);
  });

  it('behind a transport: exact ones ask it on every use, synced ones decide busy keys here', async () => {
    const primary = primaryOverIpc();
    const counters = sharedCounters(primary);
    expect(counters.shared).toBe(true);
    const exact = counters.exact('failed-address', WINDOWS);
    expect(await exact.hit('acme', NOW)).toMatchObject({ allowed: true, counts: [1, 1] });
    expect(await exact.hit('acme', NOW)).toMatchObject({ allowed: true, counts: [2, 2] });
    expect(await exact.blockedFor('acme', NOW + 10)).toBe(990);
    expect(primary.replies).toHaveLength(3);
    const synced = counters.synced('api', WINDOWS);
    // Date.now(), not NOW: the synced counter times its exchanges with the shared counts by the clock.
    const now = Date.now();
    expect((await synced.hit('busy', now)).allowed).toBe(true);
    expect((await synced.hit('busy', now)).allowed).toBe(true);
    expect(primary.replies).toHaveLength(4);
  });

  it('carry numbers across the IPC channel, never text', async () => {
    const primary = primaryOverIpc();
    await primary.hit(subject('api', 'acme', NOW));
    expect(primary.replies).toEqual([
      { kind: 'portcullis.counters.reply', replies: [{ id: 1, counts: [1, 1], allowed: true }] },
    ]);
  });
});
