import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type ServerProcess, spawnServer } from './cli.js';
import { basicHeader, requestOnNewConnection, type TestResponse, tempDataDir } from './harness.js';

/** `serve --workers 2` on a data directory of its own, with one client made by the CLI before it started. */
export interface TwoWorkers {
  readonly server: ServerProcess;
  readonly dataDir: string;
  /** The client's `Authorization: Basic` value. */
  readonly basic: string;
  /** The servers' certificate, to trust. */
  readonly ca: Buffer;
  /** One request on a connection of its own: the primary hands connections to the workers in turn. */
  onNewConnection(port: number, path: string, authorization?: string): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function startTwoWorkers(clientId: string): Promise<TwoWorkers> {
  const dataDir = tempDataDir();
  const created = JSON.parse(
    (await runCli(['clients', 'create', clientId, '--json', '--data-dir', dataDir])).stdout,
  );
  const server = await spawnServer(['--workers', '2', '--data-dir', dataDir, '--admin-port', '0']);
  const ca = readFileSync(join(dataDir, 'tls-cert.pem'));
  return {
    server,
    dataDir,
    basic: basicHeader(clientId, created.apiKey),
    ca,
    onNewConnection: (port, path, authorization) =>
      requestOnNewConnection(port, ca, {
        path,
        ...(authorization !== undefined && { headers: { authorization } }),
      }),
    async close() {
      await server.stop('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
