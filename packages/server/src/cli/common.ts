import { type Command, InvalidArgumentError, Option } from 'commander';
import type { AdminContext } from '../admin/admin.js';
import type { Environment } from '../domain/environment.js';
import { readServerSecrets, type ServerSecrets, splitSecretList } from '../keys/server-secret.js';
import { prepareServerSecrets, secretRecordLine } from '../keys/server-secret-check.js';
import { SERVER_OPTIONS } from '../options/server-option-table.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { flagOf } from './option-flags.js';

/** Options every command takes; each flag can also come from `PORTCULLIS_<FLAG>`. */
export interface CommonOptions {
  readonly dataDir: string;
  readonly store?: string;
  readonly cache?: string;
  readonly cachePrefix: string;
  readonly secretsFile?: string;
  readonly json: boolean;
}

/** The actor the audit trail names for changes made with the CLI. */
export const CLI_ACTOR = 'cli';

/** How long a CLI command waits for the store before it gives up. */
const STORE_TIMEOUT_MS = 5000;

export const dataDirOption = (): Option => flagOf(SERVER_OPTIONS.dataDir);
export const storeOption = (): Option => flagOf(SERVER_OPTIONS.store);
export const cacheOption = (): Option => flagOf(SERVER_OPTIONS.cache);
export const cachePrefixOption = (): Option => flagOf(SERVER_OPTIONS.cachePrefix);
export const secretsFileOption = (): Option => flagOf(SERVER_OPTIONS.secretsFile);

/**
 * `PORTCULLIS_SECRETS`, split: the secrets themselves are read from the environment only (a secret
 * manager sets it), never from a flag, which `ps` shows to every user of the machine.
 */
export function environmentSecrets(): string[] | undefined {
  const text = process.env.PORTCULLIS_SECRETS;
  return text === undefined || text === '' ? undefined : splitSecretList(text);
}

/**
 * The options of every command that manages clients, keys or the audit trail: where the store is, the
 * cache to announce changes on, and `--json`.
 */
export function addStoreOptions(command: Command): Command {
  return command
    .addOption(dataDirOption())
    .addOption(storeOption())
    .addOption(cacheOption())
    .addOption(cachePrefixOption())
    .addOption(secretsFileOption())
    .addOption(jsonOption());
}

export function jsonOption(): Option {
  return new Option('--json', 'print JSON instead of text').env('PORTCULLIS_JSON').default(false);
}

export const environmentOption = (): Option => flagOf(SERVER_OPTIONS.environment);

export function integerArgument(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

/**
 * Runs `action` with the store (`--store`, or the data directory's SQLite file) and the server secret,
 * closes the store afterwards, and, with `--cache`, tells every server to read the change now if it made
 * one. The secret passes the same start-up check as a server's (`prepareServerSecrets`): a CLI with
 * another secret than the cluster's refuses, rather than create keys that every node refuses.
 */
export function withStore<T>(
  options: Pick<CommonOptions, 'dataDir' | 'store' | 'cache' | 'cachePrefix' | 'secretsFile'>,
  environment: Environment,
  action: (context: AdminContext) => Promise<T>,
): Promise<T> {
  const given = givenSecrets(options);
  return withStoreOnly(options, async (store) => {
    const secrets = await checkedSecrets(store, given, options.dataDir);
    return action({ store, serverSecret: secrets.current, environment });
  });
}

/** The secrets the operator gave (`PORTCULLIS_SECRETS`, `--secrets-file`) or the data directory holds. */
export function givenSecrets(
  options: Pick<CommonOptions, 'dataDir' | 'secretsFile'>,
): ServerSecrets | undefined {
  return readServerSecrets({
    secrets: environmentSecrets(),
    secretsFile: options.secretsFile,
    dataDir: options.dataDir,
  });
}

/**
 * The start-up check. A rotation is said on standard error (standard output is the command's answer);
 * the first record on a new store is routine and goes unsaid.
 */
export async function checkedSecrets(
  store: Store,
  given: ServerSecrets | undefined,
  dataDir: string,
): Promise<ServerSecrets> {
  const { secrets, record } = await prepareServerSecrets(store, given, dataDir);
  const line = secretRecordLine(record);
  if (record.kind === 'rotated' && line !== undefined) process.stderr.write(`portcullis: ${line}\n`);
  return secrets;
}

/** Runs `action` with the store only, for commands that need no secret; otherwise as `withStore`. */
export async function withStoreOnly<T>(
  options: Pick<CommonOptions, 'dataDir' | 'store' | 'cache' | 'cachePrefix'>,
  action: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(options.store, options.dataDir, STORE_TIMEOUT_MS);
  let changed = false;
  store.onChange(() => {
    changed = true;
  });
  try {
    // Changes made here are the CLI's in the audit trail; the view shares the store's listener above.
    return await action(store.actingAs(CLI_ACTOR));
  } finally {
    await store.close();
    // Also when the action failed after a write: what the store committed is announced.
    if (changed && options.cache !== undefined) await announceChange(options.cache, options.cachePrefix);
  }
}

async function announceChange(cacheUrl: string, keyPrefix: string): Promise<void> {
  const { RedisCache } = await import('../cache/redis-cache.js');
  const cache = new RedisCache(cacheUrl, { keyPrefix, timeoutMs: STORE_TIMEOUT_MS });
  try {
    await cache.ready(STORE_TIMEOUT_MS).catch(() => undefined);
    await cache.publishChange();
  } finally {
    await cache.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * What a change did: with `--json`, `summary` and whether anything `changed`; otherwise one line, `done`
 * or, when nothing changed (nothing was written either), `Nothing changed: ` and `why`.
 */
export function printOutcome(
  json: boolean | undefined,
  outcome: {
    readonly changed: boolean;
    readonly summary: object;
    readonly done: string;
    readonly why: string;
  },
): void {
  const { changed, summary, done, why } = outcome;
  if (json) printJson({ ...summary, changed });
  else printLines([changed ? done : `Nothing changed: ${why}`]);
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
