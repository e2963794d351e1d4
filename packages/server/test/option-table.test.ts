import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_OPTIONS } from '../src/cli/serve.js';
import type { OptionRow } from '../src/options/option-row.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const optionSection = readme.slice(
  readme.indexOf('### Options of `serve`'),
  readme.indexOf('## Wire contract'),
);
const rows: readonly OptionRow<unknown, unknown>[] = Object.values(SERVE_OPTIONS);

/** The README's cells for a row: the flag with what it takes, the variable, the default, the help line. */
function cellsOf(row: OptionRow<unknown, unknown>): string[] {
  const flag = row.placeholder === undefined ? row.flag : `${row.flag} ${row.placeholder}`;
  const shownDefault = row.defaultText ?? (row.default === false ? 'off' : `\`${String(row.default)}\``);
  return [`\`${flag}\``, `\`${row.env}\``, shownDefault, row.help];
}

/** The README table's rows, as cells (a `\|` inside a cell is a pipe, not a column). */
const listed = optionSection
  .split('\n')
  .filter((line) => line.startsWith('| `--'))
  .map((line) =>
    line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim().replaceAll('\\|', '|')),
  );

describe('the option table', () => {
  it.each(rows.map((row) => [row.flag, row] as const))(
    'README lists %s with its variable, default and help line',
    (_flag, row) => {
      const expected = cellsOf(row);
      expect(listed.find((cells) => cells[0] === expected[0])).toEqual(expected);
    },
  );

  it('README lists no flag that serve does not have, in the order of the table', () => {
    expect(listed.map((cells) => cells[0])).toEqual(rows.map((row) => cellsOf(row)[0]));
  });

  it('names every variable PORTCULLIS_<FLAG>, as the README says', () => {
    for (const row of rows) {
      expect(row.env).toBe(`PORTCULLIS_${row.flag.slice(2).toUpperCase().replaceAll('-', '_')}`);
    }
  });
});
