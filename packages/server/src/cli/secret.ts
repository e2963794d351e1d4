import { Command } from 'commander';
import { generateServerSecret } from '../keys/server-secret.js';

/**
 * `portcullis secret generate`: a new server secret on standard output and nothing else, so that it can
 * go straight into a secret manager or a file (`portcullis secret generate > secrets`), never through a
 * command line or a log. docs/deployment.md says how to distribute and rotate it.
 */
export function secretCommand(): Command {
  const command = new Command('secret').description('server secrets shared by every node and the CLI');
  command
    .command('generate')
    .description('print a new server secret (32 random bytes, base64url)')
    .action(() => {
      process.stdout.write(`${generateServerSecret()}\n`);
    });
  return command;
}
