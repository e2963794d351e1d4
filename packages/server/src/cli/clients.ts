import { Command } from 'commander';
import {
  createClient,
  deleteClient,
  listClients,
  setClientStatus,
  showClient,
  updateClientSettings,
} from '../admin/clients.js';
import { clientSummary, keySummary } from '../admin/views.js';
import type { Environment } from '../domain/environment.js';
import type { ClientStatus } from '../domain/records.js';
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
  readonly name?: string;
  readonly tokenTtl?: number;
  readonly rateLimits?: string;
  readonly env: Environment;
}

interface UpdateOptions extends CommonOptions {
  readonly name?: string;
  readonly tokenTtl?: number | 'default';
  readonly rateLimits?: string;
}

const RATE_LIMITS_HELP =
  "API calls for this client, COUNT/WINDOW,… or off (default: the server's --rate-limits)";

export function clientsCommand(): Command {
  const clients = new Command('clients').description(
    'create, list, show, update, disable, enable and delete API clients',
  );

  clients
    .command('create')
    .description('create a client and its first API key (the key is shown once)')
    .argument('<ClientId>', '1 to 64 of A-Z a-z 0-9 _ -')
    .option('--name <name>', 'display name (default: the ClientId)')
    .option(
      '--token-ttl <seconds>',
      "access-token lifetime for this client (default: the server's)",
      integerArgument(1, 86_400),
    )
    .option('--rate-limits <windows>', RATE_LIMITS_HELP)
    .addOption(environmentOption())
    .action(async (clientId: string, options: CreateOptions) => {
      const created = await withStore(options, options.env, (context) =>
        createClient(context, {
          clientId,
          name: options.name,
          tokenTtlSeconds: options.tokenTtl,
          rateLimits: options.rateLimits,
        }),
      );
      if (options.json) {
        printJson({ clientId: created.client.clientId, keyId: created.key.keyId, apiKey: created.apiKey });
        return;
      }
      printLines([
        `Created client ${created.client.clientId}.`,
        `  Key id:  ${created.key.keyId}`,
        `  API key: ${created.apiKey}`,
        'The API key is shown only this once: store it now.',
      ]);
    });

  clients
    .command('update')
    .description("change a client's name, token lifetime or rate limits")
    .argument('<ClientId>')
    .option('--name <name>', 'display name')
    .option('--token-ttl <seconds>', 'access-token lifetime in seconds, or "default"', (value) =>
      value === 'default' ? value : integerArgument(1, 86_400)(value),
    )
    .option('--rate-limits <windows>', `${RATE_LIMITS_HELP}; "default" for the server's`)
    .action(async (clientId: string, options: UpdateOptions) => {
      const given = [options.name, options.tokenTtl, options.rateLimits].some((value) => value !== undefined);
      const {
        record: client,
        changed,
        fields,
      } = await withStoreOnly(options, (store) =>
        updateClientSettings(store, clientId, {
          name: options.name,
          tokenTtlSeconds: options.tokenTtl === 'default' ? null : options.tokenTtl,
          rateLimits: options.rateLimits === 'default' ? null : options.rateLimits,
        }),
      );
      printOutcome(options.json, {
        changed,
        summary: clientSummary(client),
        done: `Client ${client.clientId} is updated: ${Object.keys(fields).join(', ')}.`,
        why: given
          ? `client ${client.clientId} already has these settings.`
          : 'no setting given (--name, --token-ttl, --rate-limits).',
      });
    });

  clients
    .command('list')
    .description('list every client')
    .action(async (options: CommonOptions) => {
      const all = await withStoreOnly(options, listClients);
      const summaries = all.map(clientSummary);
      if (options.json) {
        printJson(summaries);
        return;
      }
      printLines(
        table(
          ['CLIENT ID', 'NAME', 'STATUS', 'CREATED'],
          summaries.map((c) => [c.clientId, c.name, c.status, c.createdAt]),
        ),
      );
    });

  clients
    .command('show')
    .description('show a client and its keys')
    .argument('<ClientId>')
    .action(async (clientId: string, options: CommonOptions) => {
      const now = Date.now();
      const { client, keys } = await withStoreOnly(options, (store) => showClient(store, clientId));
      const summary = { ...clientSummary(client), keys: keys.map((key) => keySummary(key, now)) };
      if (options.json) {
        printJson(summary);
        return;
      }
      printLines([
        `ClientId:  ${summary.clientId}`,
        `Name:      ${summary.name}`,
        `Status:    ${summary.status}`,
        `Token TTL: ${summary.tokenTtlSeconds === null ? "server's default" : `${summary.tokenTtlSeconds} s`}`,
        `Limits:    ${summary.rateLimits ?? "server's default"}`,
        `Created:   ${summary.createdAt}`,
        `Keys:      ${summary.keys.length}`,
        ...summary.keys.map((k) =>
          `  ${k.keyId}  ${k.scope}  ${k.status}${k.exposed ? ' (exposed)' : ''}  ${k.alias ?? ''}`.trimEnd(),
        ),
      ]);
    });

  for (const [name, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
    clients
      .command(name)
      .description(
        `${name} a client: ${status === 'disabled' ? 'its keys and tokens stop working at once' : 'its keys work again'}`,
      )
      .argument('<ClientId>')
      .action(async (clientId: string, options: CommonOptions) => {
        const { record: client, changed } = await withStoreOnly(options, (store) =>
          setClientStatus(store, clientId, status as ClientStatus),
        );
        printOutcome(options.json, {
          changed,
          summary: clientSummary(client),
          done: `Client ${client.clientId} is ${client.status}.`,
          why: `client ${client.clientId} is already ${client.status}.`,
        });
      });
  }

  clients
    .command('delete')
    .description(
      'delete a client: its keys and tokens stop working at once, its audit entries stay, its ClientId is never reused',
    )
    .argument('<ClientId>')
    .action(async (clientId: string, options: CommonOptions) => {
      const { record: client, changed } = await withStoreOnly(options, (store) =>
        deleteClient(store, clientId),
      );
      const deletedAt = new Date(client.deletedAt as number).toISOString();
      printOutcome(options.json, {
        changed,
        summary: { clientId: client.clientId, deletedAt },
        done: `Client ${client.clientId} is deleted: its keys and tokens stopped working; its ClientId is never reused.`,
        why: `client ${client.clientId} was already deleted at ${deletedAt}.`,
      });
    });

  for (const command of clients.commands) addStoreOptions(command);
  return clients;
}
