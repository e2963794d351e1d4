import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateTlsMaterial } from '../../server/src/tls/certificate.js';

/**
 * One self-signed certificate for every SDK test server, trusted through NODE_EXTRA_CA_CERTS by the
 * test workers (started after this runs), so the SDK is tested with the real global fetch and real
 * certificate verification, not with verification switched off.
 */
export async function setup(): Promise<() => void> {
  const directory = mkdtempSync(join(tmpdir(), 'portcullis-sdk-tls-'));
  const material = await loadOrCreateTlsMaterial({ dataDir: directory, host: '127.0.0.1' });
  process.env.NODE_EXTRA_CA_CERTS = material.certPath;
  process.env.PORTCULLIS_TEST_TLS_DIR = directory;
  return () => rmSync(directory, { recursive: true, force: true });
}
