import { InvalidArgumentError, Option } from 'commander';
import { type Environment, environments } from '../keys/environment.js';
import type { KeyManagementContext } from '../keys/management.js';
import { loadOrCreateServerSecret } from '../keys/server-secret.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';

/** Options every command takes; each flag can also come from `PORTCULLIS_<FLAG>`. */
export interface CommonOptions {
  readonly dataDir: string;
  readonly json: boolean;
}

export function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'data directory (SQLite store, server secret, TLS certificate)')
    .env('PORTCULLIS_DATA_DIR')
    .default('./.portcullis');
}

export function jsonOption(): Option {
  return new Option('--json', 'print JSON instead of text').env('PORTCULLIS_JSON').default(false);
}

export function environmentOption(): Option {
  return new Option('--env <environment>', 'environment of the server and its API keys')
    .env('PORTCULLIS_ENV')
    .choices(environments)
    .default('sandbox');
}

export function integerArgument(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

/** Runs `action` with the data directory's store and secret, and closes the store afterwards. */
export async function withStore<T>(
  dataDir: string,
  environment: Environment,
  action: (context: KeyManagementContext) => Promise<T>,
): Promise<T> {
  const store = new SqliteStore(dataDir);
  try {
    return await action({ store, serverSecret: loadOrCreateServerSecret(dataDir), environment });
  } finally {
    await store.close();
  }
}

/** Runs `action` with the data directory's store only, for commands that read or need no secret. */
export function withStoreOnly<T>(dataDir: string, action: (store: Store) => Promise<T>): Promise<T> {
  return withStore(dataDir, 'sandbox', ({ store }) => action(store));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** A text table: one header row, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
