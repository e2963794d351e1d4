import { describe, expect, it } from 'vitest';
import { KeyUsage } from '../src/keys/key-usage.js';

const MINUTE = 60_000;

describe('key usage, written at most once a minute per key', () => {
  it("hands out a key's first use at the next flush, and its later uses a minute after, the latest one", () => {
    const usage = new KeyUsage(MINUTE);
    usage.touch('key_a', 1_000);
    expect([...usage.take(5_000)]).toEqual([['key_a', 1_000]]);
    usage.touch('key_a', 6_000);
    usage.touch('key_a', 9_000);
    usage.touch('key_b', 9_500);
    // key_a was handed out at 5 000: held until a minute later; key_b is new.
    expect([...usage.take(10_000)]).toEqual([['key_b', 9_500]]);
    expect([...usage.take(64_999)]).toEqual([]);
    expect([...usage.take(65_000)]).toEqual([['key_a', 9_000]]);
    expect([...usage.take(200_000)]).toEqual([]);
  });

  it('hands out every use held when the process stops', () => {
    const usage = new KeyUsage(MINUTE);
    usage.touch('key_a', 1_000);
    usage.take(1_000);
    usage.touch('key_a', 2_000);
    expect([...usage.take(3_000)]).toEqual([]);
    expect([...usage.take(3_000, true)]).toEqual([['key_a', 2_000]]);
  });
});
