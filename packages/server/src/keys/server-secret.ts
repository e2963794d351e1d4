import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { preparePrivateDirectory, requirePrivateFile } from '../store/data-directory.js';

const SECRET_FILE = 'server-secret';
const SECRET_BYTES = 32;

/**
 * The server secret keys the API-key HMAC and the access-token tag. It is kept in its own file (mode 0600)
 * beside the database, never inside it. Created on first use; the CLI and a running server on the same data
 * directory read the same file, so a key created by one is recognised by the other.
 */
export function loadOrCreateServerSecret(dataDir: string): Buffer {
  preparePrivateDirectory(dataDir);
  const path = join(dataDir, SECRET_FILE);
  try {
    writeFileSync(path, randomBytes(SECRET_BYTES).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  requirePrivateFile(path, 'the server secret');
  const secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
  if (secret.length < SECRET_BYTES) throw new Error(`${path} holds fewer than ${SECRET_BYTES} bytes`);
  return secret;
}
