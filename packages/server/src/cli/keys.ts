import { Command, Option } from 'commander';
import { createKey, deleteKey, listKeys, revokeKey, rotateKey } from '../admin/keys.js';
import { keySummary } from '../admin/views.js';
import type { Environment } from '../domain/environment.js';
import { type KeyScope, keyScopes } from '../domain/scope.js';
import {
  addStoreOptions,
  type CommonOptions,
  environmentOption,
  integerArgument,
  printJson,
  printLines,
  printOutcome,
  table,
  withStore,
  withStoreOnly,
} from './common.js';

interface CreateOptions extends CommonOptions {
  readonly alias?: string;
  readonly scopes: KeyScope;
  readonly expiresInDays?: number;
  readonly env: Environment;
}

interface RotateOptions extends CommonOptions {
  readonly graceHours: number;
  readonly env: Environment;
}

export function keysCommand(): Command {
  const keys = new Command('keys').description("create, list, rotate, revoke and delete a client's API keys");

  keys
    .command('create')
    .description('create an API key for a client (the key is shown once)')
    .argument('<ClientId>')
    .option('--alias <alias>', 'a name to tell keys apart')
    .addOption(
      new Option('--scopes <scope>', 'read: GET and HEAD only; write: every method (and reads)')
        .choices(keyScopes)
        .default('write'),
    )
    .option(
      '--expires-in-days <days>',
      'the key stops working after this many days',
      integerArgument(1, 3650),
    )
    .addOption(environmentOption())
    .action(async (clientId: string, options: CreateOptions) => {
      const created = await withStore(options, options.env, (context) =>
        createKey(context, clientId, {
          alias: options.alias,
          scope: options.scopes,
          expiresInDays: options.expiresInDays,
        }),
      );
      if (options.json) {
        printJson({ keyId: created.key.keyId, apiKey: created.apiKey });
        return;
      }
      printLines([
        `Created key ${created.key.keyId} for client ${clientId}.`,
        `  API key: ${created.apiKey}`,
        'The API key is shown only this once: store it now.',
      ]);
    });

  keys
    .command('list')
    .description("list a client's keys (ids and status, never the keys)")
    .argument('<ClientId>')
    .action(async (clientId: string, options: CommonOptions) => {
      const now = Date.now();
      const list = await withStoreOnly(options, (store) => listKeys(store, clientId));
      const summaries = list.map((key) => keySummary(key, now));
      if (options.json) {
        printJson(summaries);
        return;
      }
      printLines(
        table(
          ['KEY ID', 'ALIAS', 'SCOPE', 'STATUS', 'EXPOSED', 'CREATED', 'EXPIRES', 'LAST USED'],
          summaries.map((k) => [
            k.keyId,
            k.alias ?? '-',
            k.scope,
            k.status,
            k.exposedAt ?? '-',
            k.createdAt ?? '-',
            k.expiresAt ?? '-',
            k.lastUsedAt ?? '-',
          ]),
        ),
      );
    });

  keys
    .command('rotate')
    .description('replace a key with a new one of the same alias and scope (the new key is shown once)')
    .argument('<ClientId>')
    .argument('<KeyId>')
    .addOption(
      new Option('--grace-hours <hours>', 'how long the old key keeps working; 0 ends it at once')
        .default(24)
        .argParser(integerArgument(0, 8760)),
    )
    .addOption(environmentOption())
    .action(async (clientId: string, keyId: string, options: RotateOptions) => {
      const rotated = await withStore(options, options.env, (context) =>
        rotateKey(context, clientId, keyId, options.graceHours),
      );
      if (options.json) {
        printJson({ keyId: rotated.key.keyId, apiKey: rotated.apiKey });
        return;
      }
      const oldEnd =
        options.graceHours === 0
          ? 'stopped working now'
          : `works until ${rotated.old.expiresAt === null ? '-' : new Date(rotated.old.expiresAt).toISOString()}`;
      printLines([
        `Created key ${rotated.key.keyId} for client ${clientId}, replacing ${keyId}.`,
        `  API key: ${rotated.apiKey}`,
        'The API key is shown only this once: store it now.',
        `The old key ${keyId} ${oldEnd}.`,
      ]);
    });

  keys
    .command('revoke')
    .description('revoke a key: it and every token it obtained stop working at once')
    .argument('<ClientId>')
    .argument('<KeyId>')
    .action(async (clientId: string, keyId: string, options: CommonOptions) => {
      const { record: key, changed } = await withStoreOnly(options, (store) =>
        revokeKey(store, clientId, keyId),
      );
      printOutcome(options.json, {
        changed,
        summary: keySummary(key, Date.now()),
        done: `Key ${key.keyId} of client ${clientId} is revoked.`,
        why: `key ${key.keyId} of client ${clientId} is already revoked.`,
      });
    });

  keys
    .command('delete')
    .description(
      'delete a key: it and its tokens stop working at once, it leaves the listings, its audit entries stay',
    )
    .argument('<ClientId>')
    .argument('<KeyId>')
    .action(async (clientId: string, keyId: string, options: CommonOptions) => {
      const { record: key, changed } = await withStoreOnly(options, (store) =>
        deleteKey(store, clientId, keyId),
      );
      const deletedAt = new Date(key.deletedAt as number).toISOString();
      printOutcome(options.json, {
        changed,
        summary: { keyId: key.keyId, clientId: key.clientId, deletedAt },
        done: `Key ${key.keyId} of client ${clientId} is deleted: it and its tokens stopped working.`,
        why: `key ${key.keyId} of client ${clientId} was already deleted at ${deletedAt}.`,
      });
    });

  for (const command of keys.commands) addStoreOptions(command);
  return keys;
}
