import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from './errors.js';
import { parseStoredToken, type ReleaseLock, type StoredToken, type TokenStore } from './token-store.js';

/**
 * Tokens in files, for many processes on one machine (workers, cron jobs, CLIs). Each token is written to
 * a temporary file and renamed into place, so readers never see half a file; files are mode 0600 in a
 * directory of mode 0700, and hold the token and its expiry, never the API key. `lock` uses a lock file
 * created exclusively, taken over once it is older than its time to live.
 */
export class FileTokenStore implements TokenStore {
  readonly #directory: string;
  #ready: Promise<unknown> | undefined;

  constructor(directory: string) {
    if (typeof directory !== 'string' || directory === '') {
      throw new ConfigurationError('FileTokenStore needs a directory');
    }
    this.#directory = directory;
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const text = await readFile(this.#path(key, 'json'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : parseStoredToken(text);
  }

  async set(key: string, token: StoredToken): Promise<void> {
    await this.#ensureDirectory();
    const temporary = this.#path(key, `${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    await writeFile(temporary, JSON.stringify(token), { mode: 0o600 });
    await rename(temporary, this.#path(key, 'json'));
  }

  async delete(key: string, accessToken: string): Promise<void> {
    if ((await this.get(key))?.accessToken === accessToken)
      await rm(this.#path(key, 'json'), { force: true });
  }

  async lock(key: string, ttlMs: number): Promise<ReleaseLock | undefined> {
    await this.#ensureDirectory();
    const path = this.#path(key, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await (await open(path, 'wx', 0o600)).close();
        return () => rm(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // A lock whose holder died is taken over once it is older than its time to live.
        const takenAt = await stat(path).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        );
        if (takenAt + ttlMs > Date.now()) return undefined;
        await rm(path, { force: true });
      }
    }
    return undefined;
  }

  #path(key: string, extension: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new ConfigurationError('token store keys are SHA-256 hex digests');
    return join(this.#directory, `${key}.${extension}`);
  }

  #ensureDirectory(): Promise<unknown> {
    this.#ready ??= mkdir(this.#directory, { recursive: true, mode: 0o700 });
    return this.#ready;
  }
}
