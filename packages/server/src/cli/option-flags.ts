import { Option } from 'commander';
import type { InputOf, OptionRow } from '../options/option-row.js';

/** Rows of an option table, by the field each sets. */
export type OptionTable = Readonly<Record<string, OptionRow<unknown, unknown>>>;

/**
 * A row's commander flag: its variable is read when the flag is not given (commander: flag, then
 * variable, then default), and text becomes a value by the row's parser; checking is left to the row's
 * resolve(), so that a flag and a program get the same message.
 */
export function flagOf(row: OptionRow<unknown, unknown>): Option {
  const shownDefault =
    row.default === undefined && row.defaultText !== undefined ? ` (default: ${row.defaultText})` : '';
  const option = new Option(
    row.placeholder === undefined ? row.flag : `${row.flag} ${row.placeholder}`,
    `${row.help}${shownDefault}`,
  ).env(row.env);
  // Commander checks choices itself, and names them when it refuses.
  if (row.choices !== undefined) option.choices(row.choices);
  else if (row.placeholder !== undefined) option.argParser(row.parse.bind(row));
  if (row.default !== undefined) option.default(row.default, row.defaultText);
  return option;
}

/** What a command was given for each row of `table`, by field (commander names values after flags). */
export function valuesOf<Table extends OptionTable>(
  table: Table,
  values: Readonly<Record<string, unknown>>,
): { readonly [Field in keyof Table]?: InputOf<Table[Field]> } {
  return Object.fromEntries(
    Object.entries(table).map(([field, row]) => [field, values[flagOf(row).attributeName()]]),
  ) as { readonly [Field in keyof Table]?: InputOf<Table[Field]> };
}
