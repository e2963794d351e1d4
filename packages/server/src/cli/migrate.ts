import { Command } from 'commander';
import { openStore } from '../store/open-store.js';
import {
  type CommonOptions,
  dataDirOption,
  jsonOption,
  printJson,
  printLines,
  storeOption,
} from './common.js';

/** Applies pending migrations (the server and every command also do on opening the store) and says so. */
export function migrateCommand(): Command {
  return new Command('migrate')
    .description('create or upgrade the store schema (done on start too; for deployment pipelines)')
    .addOption(dataDirOption())
    .addOption(storeOption())
    .addOption(jsonOption())
    .action(async (options: CommonOptions) => {
      const store = await openStore(options.store, options.dataDir, 30_000);
      const version = await store.schemaVersion();
      await store.close();
      const kind = options.store === undefined ? 'SQLite' : 'PostgreSQL';
      if (options.json) printJson({ store: kind.toLowerCase(), schemaVersion: version });
      else printLines([`The ${kind} store is at schema version ${version}.`]);
    });
}
