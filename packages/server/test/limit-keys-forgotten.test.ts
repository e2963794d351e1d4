import type { Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AuditCounter } from '../src/audit/audit-counter.js';
import type { MetricsAnswer, MetricsReport } from '../src/cluster/messages.js';
import { WorkerHub } from '../src/cluster/primary-side.js';
import type { ClientRecord } from '../src/domain/records.js';
import { ClientLimits } from '../src/limits/client-limits.js';
import { FailedAuthentications } from '../src/limits/failed-authentications.js';
import { FixedWindows } from '../src/limits/fixed-windows.js';
import type { CounterFactory } from '../src/limits/window-counter.js';
import { PrometheusMetrics } from '../src/metrics/metrics.js';
import { aggregateSnapshots } from '../src/metrics/snapshots.js';
import { waitUntil } from './helpers/harness.js';

/**
 * `portcullis_limit_keys_forgotten_total{limit}`: the keys whose counts a limit dropped for want of room
 * while a window of theirs was current (issue 15). Each one is a limit counted afresh, so the operator
 * must see it. Counted where the counts live: in the serving process, or in the primary of
 * `--workers N` without a cache.
 */
const HOUR = 3_600_000;
const NOW = 1_800_000_000_000 - (1_800_000_000_000 % HOUR);
const WINDOWS = [{ limit: 1000, windowMs: HOUR }];
const FORGOTTEN = /^portcullis_limit_keys_forgotten_total\{limit="(\w+)"\} (\d+)$/gm;

function forgottenIn(text: string): Record<string, number> {
  return Object.fromEntries([...text.matchAll(FORGOTTEN)].map(([, limit, count]) => [limit, Number(count)]));
}

describe('keys forgotten by the limits', () => {
  it('are scraped from a process counting its own, per limit, each drop of a current key once', async () => {
    // Counters of two keys each, so that a third current key is one forgotten.
    const small: CounterFactory = {
      shared: false,
      synced: (_space, windows) => new FixedWindows(windows, 2),
      exact: (_space, windows) => new FixedWindows(windows, 2),
    };
    const audit = new AuditCounter();
    const limits = new ClientLimits(WINDOWS, WINDOWS, audit, small);
    const failures = new FailedAuthentications(WINDOWS, WINDOWS, audit, small, 64);
    const metrics = new PrometheusMetrics({
      perClient: false,
      withCache: false,
      unready: async () => [],
      feedReadAt: () => Date.now(),
      limitKeysForgotten: () => ({
        ...limits.forgottenKeys,
        failed_authentication: failures.forgottenKeys,
      }),
      peers: undefined,
    });
    try {
      expect(forgottenIn((await metrics.scrape()).body)).toEqual({
        rate: 0,
        token: 0,
        failed_authentication: 0,
      });
      for (const clientId of ['a', 'b', 'c', 'd']) {
        limits.countApiCall({ clientId, rateLimits: null } as ClientRecord, NOW + 1);
      }
      limits.countTokenIssued('a', NOW + 2);
      for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
        await failures.record(address, undefined, NOW + 3);
      }
      // A key whose windows have all turned is dropped first, and loses nothing.
      limits.countTokenIssued('b', NOW + HOUR + 4);
      limits.countTokenIssued('c', NOW + HOUR + 5);
      expect(forgottenIn((await metrics.scrape()).body)).toEqual({
        rate: 2,
        token: 0,
        failed_authentication: 1,
      });
    } finally {
      metrics.stop();
    }
  });

  it('are reported by the primary of --workers N without a cache, which holds the counts', async () => {
    const hub = new WorkerHub(true);
    const sent: unknown[] = [];
    const worker = Object.assign(new EventEmitter(), {
      isConnected: () => true,
      send(message: { kind: string; id?: number }) {
        sent.push(message);
        // The worker's part of a gathering: it records nothing of its own here.
        if (message.kind === 'portcullis.metrics.collect') {
          const report: MetricsReport = { kind: 'portcullis.metrics.report', id: message.id as number };
          setImmediate(() => worker.emit('message', report));
        }
        return true;
      },
    });
    hub.add(worker as unknown as Worker, () => undefined);
    // One more address than the primary's counters of failed authentications hold, all in the hour.
    const addresses = 500_001;
    const requests = Array.from({ length: addresses }, (_, i) => ({
      id: i,
      op: 'hit' as const,
      space: 'failed-address',
      windows: WINDOWS,
      key: `address-${i}`,
      now: NOW + 1,
    }));
    worker.emit('message', { kind: 'portcullis.counters', requests });
    worker.emit('message', { kind: 'portcullis.metrics.ask', id: 7, subject: 'metrics' });
    const answered = () => sent.find((m) => (m as MetricsAnswer).kind === 'portcullis.metrics.answer');
    await waitUntil(async () => answered() !== undefined, 20_000);
    const answer = answered() as MetricsAnswer;
    expect(answer.id).toBe(7);
    const snapshots = answer.reports.flatMap((r) => (r.subject === 'metrics' ? [r.snapshot] : []));
    const text = await aggregateSnapshots(snapshots).metrics();
    expect(forgottenIn(text)).toEqual({ rate: 0, token: 0, failed_authentication: 1 });
  }, 30_000);
});
