import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigurationError, UnsafeTokenStoreError } from './errors.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;
/** Bits a directory must not have: group or other may write. */
const LOOSE_DIRECTORY = { bits: 0o022, meaning: 'write (chmod go-w)' };
/** Bits a token or lock file must not have: group or other may read or write. */
const LOOSE_FILE = { bits: 0o077, meaning: 'read or write (chmod go-rwx)' };
const STICKY = 0o1000;

/** A file read back, with its modification time. */
export interface OwnFile {
  readonly text: string;
  readonly modifiedAt: number;
}

/**
 * A directory that only this user (and root) can change, and the files in it, read and written without
 * following symbolic links. The directory is checked before first use, and again whenever it is no longer
 * the directory that was checked (removed and made again by someone else):
 * - itself: a real directory (not a symbolic link), owned by this user, no group or other write;
 * - its ancestors, after resolving symbolic links: owned by this user or root, no group or other write
 *   unless sticky (as /tmp), so that nobody else can rename it away and put their own in its place.
 * All later access goes through the resolved path, so a symbolic link on the way cannot be swapped after
 * the check. Files are owned by this user with no group or other access, or refused.
 */
export class PrivateDirectory {
  readonly #path: string;
  readonly #uid: number;
  #checked: Promise<Stats & { readonly realPath: string }> | undefined;

  constructor(path: string) {
    if (typeof process.getuid !== 'function') {
      throw new ConfigurationError('FileTokenStore needs POSIX file ownership, which this platform lacks');
    }
    this.#path = resolve(path);
    this.#uid = process.getuid();
  }

  /** The file's text, or undefined when there is none; refuses links, other owners and loose modes. */
  async read(name: string): Promise<OwnFile | undefined> {
    const path = join(await this.#ready(), name);
    // O_NONBLOCK: a FIFO in its place must not hang the open; it is then refused as not a regular file.
    const handle = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        if (error.code === 'ELOOP') throw new UnsafeTokenStoreError(path, 'it is a symbolic link');
        throw error;
      },
    );
    if (handle === undefined) return undefined;
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new UnsafeTokenStoreError(path, 'it is not a regular file');
      this.#refuseForeign(path, stats, LOOSE_FILE);
      return { text: await handle.readFile('utf8'), modifiedAt: stats.mtimeMs };
    } finally {
      await handle.close();
    }
  }

  /** Makes `name` hold `text` atomically: readers see the old file or the new one, never part of one. */
  async replace(name: string, text: string): Promise<void> {
    const directory = await this.#ready();
    const temporary = await this.#writeTemporary(directory, name, text);
    await rename(temporary, join(directory, name)).catch(async (error: unknown) => {
      await unlink(temporary).catch(() => undefined);
      throw error;
    });
  }

  /**
   * Creates `name` holding `text`, or rejects with EEXIST when it exists (whatever it is, links included).
   * The name appears with its whole text (link(2) of a complete file), never empty or half written.
   */
  async create(name: string, text: string): Promise<void> {
    const directory = await this.#ready();
    const temporary = await this.#writeTemporary(directory, name, text);
    try {
      await link(temporary, join(directory, name));
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  async remove(name: string): Promise<void> {
    await unlink(join(await this.#ready(), name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async list(): Promise<string[]> {
    return readdir(await this.#ready());
  }

  /**
   * A new file under a name nobody can guess (128 random bits), created exclusively and without following
   * links: whatever already has that name is never written through.
   */
  async #writeTemporary(directory: string, name: string, text: string): Promise<string> {
    const temporary = join(directory, `${name}.${randomBytes(16).toString('hex')}.tmp`);
    const handle = await open(temporary, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600);
    try {
      await handle.writeFile(text, 'utf8');
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
    return temporary;
  }

  /** The resolved path of the checked directory; checks it again if it is no longer the same directory. */
  async #ready(): Promise<string> {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.#checked ??= this.#check();
      const checked = await this.#checked.catch((error: unknown) => {
        this.#checked = undefined; // a refusal is not remembered: fixing the mode is enough to go on
        throw error;
      });
      const now = await lstat(checked.realPath).catch(() => undefined);
      if (now !== undefined && now.ino === checked.ino && now.dev === checked.dev) return checked.realPath;
      this.#checked = undefined;
    }
    throw new UnsafeTokenStoreError(this.#path, 'it keeps being replaced');
  }

  async #check(): Promise<Stats & { readonly realPath: string }> {
    await mkdir(this.#path, { recursive: true, mode: 0o700 });
    const stats = await lstat(this.#path);
    if (stats.isSymbolicLink()) throw new UnsafeTokenStoreError(this.#path, 'it is a symbolic link');
    if (!stats.isDirectory()) throw new UnsafeTokenStoreError(this.#path, 'it is not a directory');
    this.#refuseForeign(this.#path, stats, LOOSE_DIRECTORY);
    const realPath = await realpath(this.#path);
    for (let ancestor = dirname(realPath); ; ancestor = dirname(ancestor)) {
      const parent = await lstat(ancestor);
      if (parent.uid !== 0 && parent.uid !== this.#uid) {
        throw new UnsafeTokenStoreError(
          this.#path,
          `its ancestor ${ancestor} is owned by uid ${parent.uid}, who could replace it`,
        );
      }
      if ((parent.mode & LOOSE_DIRECTORY.bits) !== 0 && (parent.mode & STICKY) === 0) {
        throw new UnsafeTokenStoreError(
          this.#path,
          `its ancestor ${ancestor} is writable by group or others (mode ${octal(parent.mode)}) without the sticky bit`,
        );
      }
      if (dirname(ancestor) === ancestor) break;
    }
    const again = await lstat(realPath);
    if (again.ino !== stats.ino || again.dev !== stats.dev) {
      throw new UnsafeTokenStoreError(this.#path, 'it was replaced while being checked');
    }
    return Object.assign(again, { realPath });
  }

  #refuseForeign(
    path: string,
    stats: Stats,
    loose: { readonly bits: number; readonly meaning: string },
  ): void {
    if (stats.uid !== this.#uid) {
      throw new UnsafeTokenStoreError(
        path,
        `it is owned by uid ${stats.uid}, not by this user (uid ${this.#uid})`,
      );
    }
    if ((stats.mode & loose.bits) !== 0) {
      throw new UnsafeTokenStoreError(
        path,
        `its mode ${octal(stats.mode)} lets group or others ${loose.meaning}`,
      );
    }
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8)}`;
}
