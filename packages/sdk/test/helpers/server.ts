import { join } from 'node:path';
import type { ServerOptions } from '../../../server/src/config.js';
import { startTestServer, type TestServer } from '../../../server/test/helpers/harness.js';

/** A real Portcullis server with the certificate the test workers trust (see global-setup.ts). */
export function startTrustedServer(
  options: Omit<ServerOptions, 'logger' | 'port' | 'host'> = {},
): Promise<TestServer> {
  const directory = process.env.PORTCULLIS_TEST_TLS_DIR;
  if (directory === undefined) throw new Error('global-setup.ts did not run');
  return startTestServer({
    ...options,
    tlsCert: join(directory, 'tls-cert.pem'),
    tlsKey: join(directory, 'tls-key.pem'),
  });
}
