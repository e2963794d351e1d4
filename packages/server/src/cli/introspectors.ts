import { Command } from 'commander';
import { createIntrospector, listIntrospectors, revokeIntrospector } from '../admin/introspectors.js';
import { introspectorSummary } from '../admin/views.js';
import type { Environment } from '../domain/environment.js';
import {
  addStoreOptions,
  type CommonOptions,
  environmentOption,
  printJson,
  printLines,
  table,
  withStore,
  withStoreOnly,
} from './common.js';

export function introspectorsCommand(): Command {
  const introspectors = new Command('introspectors').description(
    'credentials for the token introspection endpoint (RFC 7662), for resource servers',
  );

  introspectors
    .command('create')
    .description('create an introspection credential (the key is shown once)')
    .argument('<NAME>', 'sent as the Basic user name; 1 to 64 of A-Z a-z 0-9 _ -')
    .addOption(environmentOption())
    .action(async (name: string, options: CommonOptions & { env: Environment }) => {
      const created = await withStore(options, options.env, (context) => createIntrospector(context, name));
      if (options.json) {
        printJson({ clientId: created.introspector.name, apiKey: created.apiKey });
        return;
      }
      printLines([
        `Created introspector ${created.introspector.name}.`,
        `  API key: ${created.apiKey}`,
        'Send both as Basic credentials to POST /v2.01/oauth/introspect. The key is shown only this once.',
      ]);
    });

  introspectors
    .command('list')
    .description('list introspection credentials (never their keys)')
    .action(async (options: CommonOptions) => {
      const summaries = (await withStoreOnly(options, listIntrospectors)).map(introspectorSummary);
      if (options.json) {
        printJson(summaries);
        return;
      }
      printLines(
        table(
          ['NAME', 'STATUS', 'CREATED'],
          summaries.map((i) => [i.clientId, i.status, i.createdAt ?? '-']),
        ),
      );
    });

  introspectors
    .command('revoke')
    .description('revoke an introspection credential')
    .argument('<NAME>')
    .action(async (name: string, options: CommonOptions) => {
      const revoked = await withStoreOnly(options, (store) => revokeIntrospector(store, name));
      if (options.json) printJson(introspectorSummary(revoked));
      else printLines([`Introspector ${revoked.name} is revoked.`]);
    });

  for (const command of introspectors.commands) addStoreOptions(command);
  return introspectors;
}
