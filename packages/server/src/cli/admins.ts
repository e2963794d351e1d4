import { Command, Option } from 'commander';
import { createAdmin, listAdmins, revokeAdmin } from '../admin/admins.js';
import { adminSummary } from '../admin/views.js';
import { adminRoles } from '../domain/records.js';
import {
  addStoreOptions,
  type CommonOptions,
  checkedSecrets,
  givenSecrets,
  printJson,
  printLines,
  table,
  withStoreOnly,
} from './common.js';

export function adminsCommand(): Command {
  const admins = new Command('admins').description(
    'credentials for the admin API listener (/admin/v1/…): operators change, viewers read',
  );

  admins
    .command('create')
    .description('create an admin credential (the token is shown once)')
    .argument('<NAME>', 'named in the audit trail as the actor; 1 to 64 of A-Z a-z 0-9 _ -')
    .addOption(new Option('--role <role>', 'what it may do').choices(adminRoles).default('operator'))
    .action(async (name: string, options: CommonOptions & { role: string }) => {
      const given = givenSecrets(options);
      const created = await withStoreOnly(options, async (store) => {
        // The start-up check of every command that writes a credential's HMAC (`withStore`).
        const secrets = await checkedSecrets(store, given, options.dataDir);
        return createAdmin({ store, serverSecret: secrets.current }, name, options.role);
      });
      if (options.json) {
        printJson({ name: created.admin.name, role: created.admin.role, token: created.token });
        return;
      }
      printLines([
        `Created admin ${created.admin.name} (${created.admin.role}).`,
        `  Token: ${created.token}`,
        'Send it as "Authorization: Bearer <token>" to the admin listener. The token is shown only this once.',
      ]);
    });

  admins
    .command('list')
    .description('list admin credentials (never their tokens)')
    .action(async (options: CommonOptions) => {
      const summaries = (await withStoreOnly(options, listAdmins)).map(adminSummary);
      if (options.json) {
        printJson(summaries);
        return;
      }
      printLines(
        table(
          ['NAME', 'ROLE', 'STATUS', 'CREATED'],
          summaries.map((a) => [a.name, a.role, a.status, a.createdAt ?? '-']),
        ),
      );
    });

  admins
    .command('revoke')
    .description('revoke an admin credential: every node refuses it within the revocation bound')
    .argument('<NAME>')
    .action(async (name: string, options: CommonOptions) => {
      const revoked = await withStoreOnly(options, (store) => revokeAdmin(store, name));
      if (options.json) printJson(adminSummary(revoked));
      else printLines([`Admin ${revoked.name} is revoked.`]);
    });

  for (const command of admins.commands) addStoreOptions(command);
  return admins;
}
