import { ConfigurationError } from './errors.js';
import { takeFileLock } from './file-lock.js';
import { PrivateDirectory } from './private-directory.js';
import { parseStoredToken, type ReleaseLock, type StoredToken, type TokenStore } from './token-store.js';

/**
 * Tokens in files, for many processes of one user on one machine (workers, cron jobs, CLIs). Files hold the
 * token and its expiry, never the API key. The directory (created with mode 0700 when missing) must be
 * this user's, with no group or other write, and so must its ancestors unless sticky (as /tmp); anything
 * else is refused with UnsafeTokenStoreError, since whoever can write there can hand this store a token of
 * their choosing. Token files are mode 0600, written under an unguessable temporary name that is created
 * exclusively without following links, then renamed into place, so readers never see half a file; they are
 * read without following links and only when this user owns them. `lock` is described in file-lock.ts.
 * Needs POSIX file ownership (not Windows).
 */
export class FileTokenStore implements TokenStore {
  readonly #directory: PrivateDirectory;

  constructor(directory: string) {
    if (typeof directory !== 'string' || directory === '') {
      throw new ConfigurationError('FileTokenStore needs a directory');
    }
    this.#directory = new PrivateDirectory(directory);
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const file = await this.#directory.read(tokenName(key));
    return file === undefined ? undefined : parseStoredToken(file.text);
  }

  async set(key: string, token: StoredToken): Promise<void> {
    await this.#directory.replace(tokenName(key), JSON.stringify(token));
  }

  async delete(key: string, accessToken: string): Promise<void> {
    if ((await this.get(key))?.accessToken === accessToken) await this.#directory.remove(tokenName(key));
  }

  lock(key: string, ttlMs: number): Promise<ReleaseLock | undefined> {
    return takeFileLock(this.#directory, checkedKey(key), ttlMs);
  }
}

function tokenName(key: string): string {
  return `${checkedKey(key)}.json`;
}

/** Keys name files: only what tokenStoreKey makes (SHA-256 hex) is accepted, never a path. */
function checkedKey(key: string): string {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new ConfigurationError('token store keys are SHA-256 hex digests');
  return key;
}
