import { randomBytes } from 'node:crypto';
import type { PrivateDirectory } from './private-directory.js';
import type { ReleaseLock } from './token-store.js';

/** Who holds a lock file, and until when. */
interface LockOwner {
  readonly pid: number;
  /** 128 random bits: tells this holder from any other, even one with a reused pid. */
  readonly nonce: string;
  readonly takenAt: number;
  readonly expiresAt: number;
  readonly released?: true;
}

/**
 * A lock made of numbered files, `{key}.lock.{n}`: the file with the highest n is the lock, and whoever
 * created it holds it, until it says `released` or its `expiresAt` has passed (the holder died). To take the
 * lock, create file n + 1, exclusively. Nothing is ever removed to take a lock, so no one can remove a lock
 * that another process has just taken: when the lock is free, all contenders try to create the same n + 1
 * and the file system lets exactly one succeed (EEXIST for the others). A stat-then-remove takeover cannot
 * promise this: two processes that both saw the stale lock may each remove the other's new one.
 *
 * Old files are removed to keep the directory small, but never the highest, so the highest number ever
 * created always exists. A contender that read the numbers long ago (paused, slow) and creates a number
 * that was already removed therefore always sees a higher one when it lists the files after creating its
 * own, and gives up. What remains is what every lock with a time to live has: a holder paused past
 * `expiresAt` loses the lock without knowing it.
 */
export async function takeFileLock(
  directory: PrivateDirectory,
  key: string,
  ttlMs: number,
): Promise<ReleaseLock | undefined> {
  const current = highestLock(await directory.list(), key);
  if (current > 0 && !(await isFree(directory, lockName(key, current), ttlMs))) return undefined;
  const mine = lockName(key, current + 1);
  const takenAt = Date.now();
  const owner: LockOwner = {
    pid: process.pid,
    nonce: randomBytes(16).toString('hex'),
    takenAt,
    expiresAt: takenAt + ttlMs,
  };
  try {
    await directory.create(mine, JSON.stringify(owner));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined; // another contender won
    throw error;
  }
  const names = await directory.list();
  if (highestLock(names, key) !== current + 1) {
    await directory.remove(mine); // a number removed long ago: a higher one is the lock
    return undefined;
  }
  for (const name of names) {
    const n = lockNumber(name, key);
    if (n !== undefined && n < current + 1) await directory.remove(name);
  }
  return () => directory.replace(mine, JSON.stringify({ ...owner, released: true }));
}

async function isFree(directory: PrivateDirectory, name: string, ttlMs: number): Promise<boolean> {
  const file = await directory.read(name);
  // Gone: removed as an old number, so a higher one exists; look again next time.
  if (file === undefined) return false;
  const owner = parseOwner(file.text);
  // Not written by this store (files appear whole): held for a time to live from when it was written.
  if (owner === undefined) return file.modifiedAt + ttlMs <= Date.now();
  return owner.released === true || owner.expiresAt <= Date.now();
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    return typeof parsed.expiresAt === 'number' ? (parsed as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

function lockName(key: string, n: number): string {
  return `${key}.lock.${n}`;
}

function lockNumber(name: string, key: string): number | undefined {
  const prefix = `${key}.lock.`;
  if (!name.startsWith(prefix) || !/^[1-9][0-9]{0,15}$/.test(name.slice(prefix.length))) return undefined;
  return Number(name.slice(prefix.length));
}

function highestLock(names: readonly string[], key: string): number {
  let highest = 0;
  for (const name of names) highest = Math.max(highest, lockNumber(name, key) ?? 0);
  return highest;
}
