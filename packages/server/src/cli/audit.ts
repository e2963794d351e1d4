import { Command, InvalidArgumentError, Option } from 'commander';
import { AdminError } from '../admin/admin.js';
import { pruneAudit, readAudit } from '../admin/audit.js';
import { auditSummary } from '../admin/views.js';
import { UNIT_MS } from '../limits/window-spec.js';
import {
  addStoreOptions,
  type CommonOptions,
  integerArgument,
  printJson,
  printLines,
  table,
  withStoreOnly,
} from './common.js';

interface AuditOptions extends CommonOptions {
  readonly client?: string;
  readonly since?: number;
  readonly limit: number;
}

const AGO_PATTERN = /^(\d+)([smhd])$/;

export function auditCommand(): Command {
  const audit = new Command('audit')
    .description('read the audit trail: key and client changes, tokens issued, failures, limits hit')
    .option('--client <ClientId>', "only this client's entries")
    .option(
      '--since <time>',
      'an ISO 8601 time, or a span back from now such as 30m, 12h or 7d',
      sinceArgument,
    )
    .addOption(
      new Option('--limit <count>', 'the latest entries at most')
        .default(1000)
        .argParser(integerArgument(1, 1_000_000)),
    )
    .action(async (options: AuditOptions) => {
      const events = await withStoreOnly(options, (store) =>
        readAudit(store, {
          limit: options.limit,
          ...(options.client !== undefined && { clientId: options.client }),
          ...(options.since !== undefined && { since: options.since }),
        }),
      );
      const summaries = events.map(auditSummary);
      if (options.json) {
        printJson(summaries);
        return;
      }
      printLines(
        table(
          ['AT', 'EVENT', 'ACTOR', 'CLIENT', 'KEY', 'SOURCE', 'COUNT', 'DETAIL'],
          summaries.map((e) => [
            e.at,
            e.type,
            e.actor ?? '-',
            e.clientId ?? '-',
            e.keyId ?? '-',
            e.source ?? '-',
            String(e.count),
            e.detail === null ? '' : JSON.stringify(e.detail),
          ]),
        ),
      );
    });
  return addStoreOptions(audit).enablePositionalOptions().addCommand(pruneCommand());
}

interface PruneOptions extends CommonOptions {
  readonly before: number;
}

function pruneCommand(): Command {
  const prune = new Command('prune')
    .description(
      'remove audit entries older than a time (at least a day back); the pruning itself is recorded in the trail',
    )
    .requiredOption('--before <time>', 'an ISO 8601 time, or a span back from now such as 90d', sinceArgument)
    .action(async (options: PruneOptions) => {
      const removed = await withStoreOnly(options, (store) =>
        pruneAudit(store, options.before, Date.now()),
      ).catch((error: unknown) => {
        throw error instanceof AdminError && error.field === 'before'
          ? new Error(`--before: ${error.message}`)
          : error;
      });
      const before = new Date(options.before).toISOString();
      if (options.json) printJson({ before, removed });
      else printLines([`removed ${removed} audit entries older than ${before}`]);
    });
  return addStoreOptions(prune);
}

function sinceArgument(value: string): number {
  const ago = AGO_PATTERN.exec(value);
  if (ago !== null) return Date.now() - Number(ago[1]) * (UNIT_MS[ago[2] as string] as number);
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new InvalidArgumentError('expected an ISO 8601 time or a span such as 30m');
  return at;
}
