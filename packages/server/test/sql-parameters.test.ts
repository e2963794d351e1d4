import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every SQL statement takes its values as bound parameters: nothing a caller sends is ever spliced into
 * SQL text. Read from the sources, so that a new statement built with `${…}` fails here before review.
 */
const SOURCES = fileURLToPath(new URL('../src', import.meta.url));
const SQL = /\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)\b/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('SQL statements', () => {
  it('splice no value into SQL text: every value is a bound parameter', () => {
    const spliced: string[] = [];
    for (const file of sourceFiles(SOURCES)) {
      for (const [template] of readFileSync(file, 'utf8').matchAll(/`[^`]*`/g)) {
        if (!SQL.test(template)) continue;
        for (const [, expression] of template.matchAll(/\$\{([^}]*)\}/g)) {
          spliced.push(`${file}: ${expression}`);
        }
      }
    }
    expect(spliced).toEqual([]);
  });
});
