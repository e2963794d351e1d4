import { describe, expect, it } from 'vitest';
import type { AuditCounter } from '../src/audit/audit-counter.js';
import type { ClientRecord } from '../src/domain/records.js';
import { ClientLimits } from '../src/limits/client-limits.js';
import { CountTable } from '../src/limits/count-table.js';
import { FailedAuthentications } from '../src/limits/failed-authentications.js';
import { FixedWindows } from '../src/limits/fixed-windows.js';
import { rateLimitHeaders } from '../src/limits/rate-limit-headers.js';
import { inProcessCounters } from '../src/limits/window-counter.js';

/**
 * The per-call limit bookkeeping: one compact entry per key, updated once per call, answers read at
 * once without copies, and a bound that forgets a count only when every key is current. Times are given.
 */
const MINUTE = 60_000;
const WINDOWS = [
  { limit: 5, windowMs: 15 * MINUTE },
  { limit: 8, windowMs: 60 * MINUTE },
];
const NOW = 1_700_000_100_000 - (1_700_000_100_000 % (60 * MINUTE)); // an hour's start

describe('FixedWindows counts per key, with the windows shared by all keys', () => {
  it('starts a turned window afresh and keeps the count of one that has not', () => {
    const counter = new FixedWindows(WINDOWS);
    for (let i = 0; i < 4; i++) counter.hit('acme', NOW + i);
    const later = counter.hit('acme', NOW + 15 * MINUTE);
    expect(later.counts).toEqual([1, 5]);
    expect(later.resetsAt).toEqual([NOW + 30 * MINUTE, NOW + 60 * MINUTE]);
    expect(counter.counts('acme', NOW + 60 * MINUTE)).toEqual([0, 0]);
  });

  it("refuses on the longer window's count across a turn of the shorter, and says when it turns", () => {
    const counter = new FixedWindows(WINDOWS);
    for (let i = 0; i < 5; i++) counter.hit('acme', NOW + i);
    for (let i = 0; i < 3; i++) expect(counter.hit('acme', NOW + 15 * MINUTE + i).allowed).toBe(true);
    const refused = counter.hit('acme', NOW + 20 * MINUTE);
    expect(refused).toMatchObject({ allowed: false, counts: [3, 8], retryAfterMs: 40 * MINUTE });
    expect(counter.blockedFor('acme', NOW + 20 * MINUTE)).toBe(40 * MINUTE);
  });

  it('hitInPlace answers in one object it reuses; hit answers a copy that later calls leave alone', () => {
    const counter = new FixedWindows(WINDOWS);
    const kept = counter.hit('acme', NOW);
    const first = counter.hitInPlace('acme', NOW + 1);
    expect(first.counts).toEqual([2, 2]);
    const second = counter.hitInPlace('other', NOW + 2);
    expect(second).toBe(first);
    expect(second.counts).toEqual([1, 1]);
    expect(kept.counts).toEqual([1, 1]);
  });

  it('past its bound drops first a key whose windows have all turned, which loses nothing', () => {
    const counter = new FixedWindows(WINDOWS, 2);
    counter.hit('quiet', NOW);
    counter.hit('busy', NOW + 61 * MINUTE);
    counter.hit('new', NOW + 61 * MINUTE + 1);
    expect(counter.size).toBe(2);
    expect(counter.forgotten).toBe(0);
    expect(counter.counts('busy', NOW + 61 * MINUTE + 2)).toEqual([1, 1]);
    expect(counter.counts('quiet', NOW + 61 * MINUTE + 2)).toEqual([0, 0]);
  });

  it('past its bound with every key current drops the one counted longest ago, and counts it as forgotten', () => {
    const counter = new FixedWindows(WINDOWS, 2);
    counter.hit('a', NOW);
    counter.hit('b', NOW + 1);
    // A key counted after a turn moves behind the others: 'b' is then the one counted longest ago.
    counter.hit('a', NOW + 15 * MINUTE);
    counter.hit('c', NOW + 15 * MINUTE + 1);
    expect(counter.forgotten).toBe(1);
    expect(counter.counts('a', NOW + 15 * MINUTE + 2)).toEqual([1, 2]);
    expect(counter.counts('b', NOW + 15 * MINUTE + 2)).toEqual([0, 0]);
  });

  it('adds counts made elsewhere only to the windows they were made in', () => {
    const counter = new FixedWindows(WINDOWS);
    counter.hit('acme', NOW + 15 * MINUTE);
    expect(counter.add('acme', [NOW, NOW], [2, 2], NOW + 15 * MINUTE + 1)).toEqual([1, 3]);
  });
});

describe('rateLimitHeaders', () => {
  it("writes each window its own numbers, whether or not they equal the previous window's", () => {
    const windows = [2300, 4500, 8800, 105_600].map((limit, i) => ({
      limit,
      windowMs: ([15, 30, 60, 1440][i] as number) * MINUTE,
    }));
    const headers = rateLimitHeaders({
      allowed: true,
      windows,
      counts: [3, 5, 5, 9],
      resetsAt: [NOW + 15 * MINUTE, NOW + 30 * MINUTE, NOW + 60 * MINUTE, NOW + 1440 * MINUTE],
      retryAfterMs: 0,
    });
    expect(headers['X-RateLimit']).toBe('3,5,5,9');
    expect(headers['X-RateLimit-Remaining']).toBe('2297,4495,8795,105591');
    const same = rateLimitHeaders({
      allowed: true,
      windows: windows.map(() => ({ limit: 10, windowMs: MINUTE })),
      counts: [4, 4, 4, 4],
      resetsAt: [0, 0, 0, 0],
      retryAfterMs: 0,
    });
    expect(same).toMatchObject({
      'X-RateLimit': '4,4,4,4',
      'X-RateLimit-Remaining': '6,6,6,6',
      'X-RateLimit-Reset': '0,0,0,0',
    });
  });
});

describe('CountTable', () => {
  it('uses the slot of a deleted key again, zeroed, and keeps others across pages', () => {
    const table = new CountTable(2);
    for (let i = 0; i < 5000; i++) {
      const slot = table.insert(`k${i}`);
      table.pageOf(slot)[table.offsetOf(slot)] = i;
    }
    const slot = table.slotOf('k4999');
    expect(table.pageOf(slot)[table.offsetOf(slot)]).toBe(4999);
    const freed = table.slotOf('k7');
    table.delete('k7');
    expect(table.slotOf('k7')).toBe(-1);
    expect(table.insert('again')).toBe(freed);
    expect(table.pageOf(freed)[table.offsetOf(freed)]).toBe(0);
    expect(table.oldestKey()).toBe('k0');
    table.renew('k0', table.slotOf('k0'));
    expect(table.oldestKey()).toBe('k1');
  });

  it('evicting at its bound stays cheap: 200 000 keys in turn through a FixedWindows of 100 000', () => {
    // One map per key, with a fresh iterator to find the oldest, took about 30 µs per call here.
    const counter = new FixedWindows(WINDOWS, 100_000);
    const started = performance.now();
    for (let pass = 0; pass < 2; pass++) for (let i = 0; i < 200_000; i++) counter.hit(`k${i}`, NOW + pass);
    expect(counter.size).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(4000);
  });
});

describe('ClientLimits on in-process counters', () => {
  const audit: AuditCounter = { count: () => undefined } as unknown as AuditCounter;
  const client = { clientId: 'acme', rateLimits: null } as ClientRecord;

  it('answers the headers at once, without a promise, and refuses with Retry-After past a window', () => {
    const limits = new ClientLimits([{ limit: 2, windowMs: MINUTE }], [], audit, inProcessCounters);
    expect(limits.countApiCall(client, NOW)).toEqual({
      'X-RateLimit': '1',
      'X-RateLimit-Remaining': '1',
      'X-RateLimit-Reset': String((NOW + MINUTE) / 1000),
    });
    limits.countApiCall(client, NOW + 1);
    expect(() => limits.countApiCall(client, NOW + 30_000)).toThrow(
      expect.objectContaining({
        code: 'rate_limit',
        headers: expect.objectContaining({ 'X-RateLimit-Remaining': '0', 'Retry-After': '30' }),
      }),
    );
  });
});

describe('FailedAuthentications on in-process counters', () => {
  it('keeps refusing a blocked address however many other addresses fail after it (RFC 6749 §2.3.1)', async () => {
    const audit: AuditCounter = { count: () => undefined } as unknown as AuditCounter;
    const failures = new FailedAuthentications(
      [],
      [{ limit: 3, windowMs: 60 * MINUTE }],
      audit,
      inProcessCounters,
      64,
    );
    for (let i = 0; i < 3; i++) await failures.record('192.0.2.1', 'acme', NOW + i);
    const refused = expect.objectContaining({ code: 'rate_limit' });
    await expect(failures.refuseIfBlocked('192.0.2.1', () => 'acme', NOW + 10)).rejects.toThrow(refused);
    // More addresses than this process once remembered as having failed (100 000), each failing once.
    for (let i = 0; i < 150_000; i++) {
      await failures.record(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, undefined, NOW + 20);
    }
    await expect(failures.refuseIfBlocked('192.0.2.1', () => 'acme', NOW + 30)).rejects.toThrow(refused);
  });
});
