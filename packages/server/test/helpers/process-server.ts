import type { AddressInfo } from 'node:net';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from '../../src/config.js';
import { readServerSecrets } from '../../src/keys/server-secret.js';
import { SERVER_OPTIONS } from '../../src/options/server-option-table.js';
import type { PortcullisServer } from '../../src/server.js';
import { openStore } from '../../src/store/open-store.js';
import { loadOrCreateTlsMaterial } from '../../src/tls/certificate.js';
import { spawnServer } from './cli.js';

/**
 * With PORTCULLIS_TEST_WORKERS=N, the behaviour suite's servers are `portcullis serve --workers N`
 * processes instead of in-process servers: the options become their flags (from the option table), the log
 * is the processes' output, and the store is opened beside them as the CLI opens it.
 */
export const TEST_WORKERS = Number(process.env.PORTCULLIS_TEST_WORKERS ?? 1);

export async function startServerProcess(
  input: ServerOptions & { readonly dataDir: string },
  logLines: string[],
): Promise<{ readonly server: PortcullisServer; readonly address: AddressInfo }> {
  const args = ['--workers', String(TEST_WORKERS), '--data-dir', input.dataDir];
  for (const [name, value] of Object.entries(input)) {
    if (name === 'dataDir' || name === 'logger' || value === undefined) continue;
    const row = SERVER_OPTIONS[name as keyof typeof SERVER_OPTIONS];
    if (row === undefined) throw new Error(`${name} is not a server option`);
    // A switch takes no value: given when on.
    if (row.placeholder === undefined) {
      if (value === true) args.push(row.flag);
      continue;
    }
    args.push(row.flag, ...(Array.isArray(value) ? value.map(String) : [String(value)]));
  }
  const child = await spawnServer(args);
  const options: ResolvedServerOptions = resolveServerOptions({
    ...input,
    port: child.port,
    adminPort: child.adminPort ?? 'off',
  });
  const store = await openStore(options.store, options.dataDir, 5000);
  const tls = await loadOrCreateTlsMaterial({ dataDir: options.dataDir, host: options.host });
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) logLines.push(`${line}\n`);
  };
  child.child.stdout?.on('data', collect);
  for (const line of child.output().split('\n')) if (line.startsWith('{')) logLines.push(`${line}\n`);
  const secrets = readServerSecrets({ dataDir: options.dataDir });
  if (secrets === undefined) throw new Error('the server process made no server secret');
  const server: PortcullisServer = {
    options,
    tls,
    store,
    secrets,
    tokensIssued() {
      throw new Error('tokensIssued() is not available across worker processes');
    },
    listen: async () => ({ address: '127.0.0.1', family: 'IPv4', port: child.port }),
    adminAddress: () =>
      child.adminPort === undefined
        ? undefined
        : { address: '127.0.0.1', family: 'IPv4', port: child.adminPort },
    async close() {
      const code = await child.stop('SIGTERM');
      await store.close();
      if (code !== 0) throw new Error(`portcullis serve exited with ${code}`);
    },
  };
  return { server, address: { address: '127.0.0.1', family: 'IPv4', port: child.port } };
}
