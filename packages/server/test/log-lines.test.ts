import { describe, expect, it } from 'vitest';
import { createJsonLogger } from '../src/log.js';

/** The lines one call writes, each checked to be a whole line of JSON. */
function linesOf(log: (logger: ReturnType<typeof createJsonLogger>) => void): Record<string, unknown>[] {
  const written: string[] = [];
  log(createJsonLogger((line) => written.push(line)));
  return written.map((line) => {
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
    return JSON.parse(line) as Record<string, unknown>;
  });
}

describe('log lines (formatted by our own writer, not pino)', () => {
  it('writes level, time, pid and event first, then the fields in the order given', () => {
    const before = Date.now();
    const [line] = linesOf((logger) => logger.warn('request.limited', { b: 1, a: 'x', c: true, d: null }));
    expect(Object.keys(line ?? {})).toEqual(['level', 'time', 'pid', 'event', 'b', 'a', 'c', 'd']);
    expect(line).toMatchObject({ level: 'warn', pid: process.pid, event: 'request.limited', b: 1, a: 'x' });
    const time = Date.parse(String(line?.time));
    expect(String(line?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  it('leaves undefined fields out and writes numbers that JSON cannot hold as null', () => {
    const [line] = linesOf((logger) =>
      logger.info('request', { gone: undefined, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, ms: 0.25 }),
    );
    expect(line).toEqual(expect.objectContaining({ nan: null, inf: null, ms: 0.25 }));
    expect(line).not.toHaveProperty('gone');
  });

  it('keeps a value that carries a forged line inside its own field (no log injection)', () => {
    const forged = 'x"}\n{"level":"error","event":"forged\u2028\u0000';
    const lines = linesOf((logger) => logger.info('request', { clientAddress: forged }));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.clientAddress).toBe(forged);
  });

  it('escapes a field name that is not a plain identifier', () => {
    const name = 'x":1,"level":"error';
    const [line] = linesOf((logger) => logger.info('request', { [name]: 'v' }));
    expect(line?.level).toBe('info');
    expect(line?.[name]).toBe('v');
  });

  it('writes every level', () => {
    const lines = linesOf((logger) => {
      logger.debug('d');
      logger.info('i');
      logger.warn('w');
      logger.error('e');
    });
    expect(lines.map((line) => [line.level, line.event])).toEqual([
      ['debug', 'd'],
      ['info', 'i'],
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });
});
