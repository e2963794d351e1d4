import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The data directory holds the SQLite store, the server secret and the TLS key: only the user that runs
 * Portcullis may enter it, whatever the umask. Checks are skipped where the platform has no POSIX owners
 * and modes (Windows).
 */
const POSIX = typeof process.getuid === 'function';

/**
 * Creates the data directory with mode 0700, or checks an existing one: owned by this user and closed to
 * group and others. Anything else is refused with one line that says what to do.
 */
export function preparePrivateDirectory(dir: string): void {
  try {
    makeDirectory(dir);
  } catch (error) {
    throw new Error(`cannot create the data directory ${dir}: ${(error as Error).message}`);
  }
  if (!POSIX) return;
  const stats = statSync(dir);
  requireOwner(dir, 'the data directory', stats.uid);
  if ((stats.mode & 0o077) !== 0) {
    throw new Error(
      `the data directory ${dir} has mode ${octal(stats.mode)}: other users could read the store and the secret; run chmod 700 ${dir}`,
    );
  }
}

/**
 * A file that holds a secret (the server secret, the TLS key) must be this user's and readable by it
 * alone. A looser one is refused, not repaired: whoever could read it may hold the secret already.
 */
export function requirePrivateFile(path: string, what: string): void {
  if (!POSIX) return;
  const stats = statSync(path);
  requireOwner(path, what, stats.uid);
  if ((stats.mode & 0o077) !== 0) {
    throw new Error(
      `${what} ${path} has mode ${octal(stats.mode)}: run chmod 600 ${path}, and if other users could read it, replace it`,
    );
  }
}

/**
 * A file Portcullis made inside the private directory (the SQLite files): set to 0600 where it is looser,
 * as an older version or a loose umask left it. The directory already kept others out.
 */
export function tightenFile(path: string): void {
  if (!POSIX) return;
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * `mkdir -p` with mode 0700, one level at a time: Node 20's `mkdirSync(dir, { recursive: true })` never
 * returns for a path it cannot create under a directory that exists, such as /proc/x.
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirectory(parent);
    mkdirSync(dir, { mode: 0o700 });
  }
}

function requireOwner(path: string, what: string, uid: number): void {
  const self = process.getuid?.();
  if (uid === self) return;
  throw new Error(
    `${what} ${path} belongs to uid ${uid}, not to the user running portcullis (uid ${self}): chown it, or use another --data-dir`,
  );
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}
