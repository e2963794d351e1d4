import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { adminsCommand } from './admins.js';
import { auditCommand } from './audit.js';
import { callCommand, tokenCommand } from './client-commands.js';
import { clientsCommand } from './clients.js';
import { introspectorsCommand } from './introspectors.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { secretCommand } from './secret.js';
import { serveCommand } from './serve.js';

/** The server package's version: package.json is two levels up from src/cli/ and dist/cli/ alike. */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('portcullis')
  .description('Portcullis: API authentication server (Basic and OAuth 2.0 client credentials)')
  .version(version)
  .exitOverride()
  // Each command's options belong to it: `audit prune --json` is prune's --json, not audit's.
  .enablePositionalOptions()
  .addCommand(serveCommand())
  .addCommand(clientsCommand())
  .addCommand(keysCommand())
  .addCommand(introspectorsCommand())
  .addCommand(adminsCommand())
  .addCommand(auditCommand())
  .addCommand(migrateCommand())
  .addCommand(secretCommand())
  .addCommand(tokenCommand())
  .addCommand(callCommand());

for (const command of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
  // Commander's own messages start "error: "; every error line of the CLI starts "portcullis: ".
  command.exitOverride().configureOutput({
    outputError: (message, write) => write(message.replace(/^error: /, 'portcullis: ')),
  });
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has printed its own message.
  if (!(error instanceof CommanderError)) fail(error);
  process.exitCode = error.exitCode;
}

/**
 * Bad input ends in one clear line on stderr and a non-zero exit, never a stack trace. The exit is
 * explicit: a command that failed half-way (a server that could not listen) may hold a database pool or
 * a Redis connection open, which would keep the process running.
 */
function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`portcullis: ${message}\n`);
  process.exit(1);
}
