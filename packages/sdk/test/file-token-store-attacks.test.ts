import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type TestClient, type TestServer, tempDataDir } from '../../server/test/helpers/harness.js';
import {
  FileTokenStore,
  PortcullisClient,
  type StoredToken,
  tokenStoreKey,
  UnsafeTokenStoreError,
} from '../src/index.js';
import { startTrustedServer } from './helpers/server.js';

/**
 * The attacks of issue 10, finding 9, as a second local user would make them. The tests run as root, who
 * plays both users: files and directories chowned to uid 65534 (nobody) are the other user's.
 */
const OTHER_USER = 65534;
const LOCK_CONTENDER = fileURLToPath(new URL('./fixtures/lock-race.mjs', import.meta.url));
const ATTACKER_TOKEN = 'attacker-chosen-token';

let t: TestServer;
let acme: TestClient;
const directories: string[] = [];

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('these tests play two users and must run as root');
  t = await startTrustedServer();
  acme = await t.createClient('acme');
});
afterAll(async () => {
  await t.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

function scratch(): string {
  const directory = tempDataDir();
  directories.push(directory);
  return directory;
}

function clientOn(directory: string): PortcullisClient {
  return new PortcullisClient({
    baseUrl: t.baseUrl,
    clientId: acme.clientId,
    apiKey: acme.apiKey,
    tokenStore: new FileTokenStore(directory),
  });
}

/** The store key of acme's token, and the file name it is kept under. */
function acmeKey(): string {
  return tokenStoreKey(t.baseUrl, acme.clientId, acme.apiKey);
}
function tokenFile(): string {
  return `${acmeKey()}.json`;
}

/** A token valid for an hour. */
function validToken(accessToken: string): StoredToken {
  const now = Date.now();
  return { accessToken, expiresAt: now + 3_600_000, refreshAt: now + 3_500_000 };
}

/** A token file as the other user writes it: their token, valid for an hour. */
function plantAttackerToken(path: string): void {
  const now = Date.now();
  writeFileSync(
    path,
    JSON.stringify({ accessToken: ATTACKER_TOKEN, expiresAt: now + 3.6e6, refreshAt: now + 3.5e6 }),
  );
  chownSync(path, OTHER_USER, OTHER_USER);
}

async function refusal(promise: Promise<unknown>): Promise<UnsafeTokenStoreError> {
  const error = await promise.then(
    (value) => new Error(`accepted: ${String(value)}`),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnsafeTokenStoreError);
  expect((error as UnsafeTokenStoreError).code).toBe('ERR_UNSAFE_TOKEN_STORE');
  return error as UnsafeTokenStoreError;
}

describe('FileTokenStore refuses a directory another user could write', () => {
  it('a shared directory another user made (mode 0777, their token planted): refused, their token never used', async () => {
    const shared = join(scratch(), 'shared-tokens');
    mkdirSync(shared);
    chownSync(shared, OTHER_USER, OTHER_USER);
    chmodSync(shared, 0o777);
    plantAttackerToken(join(shared, tokenFile()));
    const error = await refusal(clientOn(shared).getAccessToken());
    expect(error.path).toBe(shared);
    expect(error.message).toContain(shared);
    expect(error.message).toContain(`owned by uid ${OTHER_USER}`);
  });

  it.each([
    ['0777', 'writable by everyone'],
    ['0770', 'writable by the group'],
    ['0702', 'writable by others'],
  ])('our own directory of mode %s (%s): refused, naming the mode', async (mode) => {
    const directory = join(scratch(), 'tokens');
    mkdirSync(directory);
    chmodSync(directory, Number.parseInt(mode, 8));
    plantAttackerToken(join(directory, tokenFile()));
    const error = await refusal(clientOn(directory).getAccessToken());
    expect(error.message).toContain(`mode ${mode}`);
  });

  it('a directory of mode 0700 owned by another user: refused', async () => {
    const directory = join(scratch(), 'tokens');
    mkdirSync(directory, { mode: 0o700 });
    chownSync(directory, OTHER_USER, OTHER_USER);
    await refusal(clientOn(directory).getAccessToken());
  });

  it('a symbolic link in place of the directory: refused, even to a directory of ours', async () => {
    const root = scratch();
    mkdirSync(join(root, 'real'), { mode: 0o700 });
    symlinkSync(join(root, 'real'), join(root, 'tokens'));
    await refusal(clientOn(join(root, 'tokens')).getAccessToken());
    expect(readdirSync(join(root, 'real'))).toEqual([]);
  });

  it('an ancestor others can write without the sticky bit (they could swap the directory): refused; with it (as /tmp): used', async () => {
    const root = scratch();
    const loose = join(root, 'loose');
    mkdirSync(join(loose, 'tokens'), { recursive: true, mode: 0o700 });
    chmodSync(loose, 0o777);
    const error = await refusal(clientOn(join(loose, 'tokens')).getAccessToken());
    expect(error.message).toContain(`ancestor ${loose}`);
    chmodSync(loose, 0o1777);
    expect(await clientOn(join(loose, 'tokens')).getAccessToken()).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
  });

  it('a missing directory is made with mode 0700, and a directory of mode 0755 of ours is used', async () => {
    const made = join(scratch(), 'a', 'b');
    await clientOn(made).getAccessToken();
    expect(lstatSync(made).mode & 0o777).toBe(0o700);
    const open = join(scratch(), 'tokens');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    await clientOn(open).getAccessToken();
  });

  it('the directory removed after first use and made again by another user (as a /tmp cleaner allows): refused', async () => {
    const root = scratch();
    chmodSync(root, 0o1777);
    const shared = join(root, 'shared-tokens');
    const store = new FileTokenStore(shared);
    const key = acmeKey();
    await store.set(key, validToken('ours'));
    expect((await store.get(key))?.accessToken).toBe('ours');
    rmSync(shared, { recursive: true });
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    chownSync(shared, OTHER_USER, OTHER_USER);
    plantAttackerToken(join(shared, tokenFile()));
    await refusal(store.get(key));
  });
});

describe('FileTokenStore files: never through a link, never another user’s', () => {
  it('a token file owned by another user, or readable by others, is refused', async () => {
    const directory = join(scratch(), 'tokens');
    const store = new FileTokenStore(directory);
    const key = acmeKey();
    await store.set(key, validToken('ours'));
    chmodSync(join(directory, tokenFile()), 0o644);
    await refusal(store.get(key));
    plantAttackerToken(join(directory, tokenFile()));
    chmodSync(join(directory, tokenFile()), 0o600);
    await refusal(store.get(key));
  });

  it('a symbolic link planted at the token path: not followed to read, and writing replaces the link, not its target', async () => {
    const root = scratch();
    const directory = join(root, 'tokens');
    mkdirSync(directory, { mode: 0o700 });
    const target = join(root, 'attacker-file');
    plantAttackerToken(target);
    const before = readFileSync(target, 'utf8');
    symlinkSync(target, join(directory, tokenFile()));
    const key = acmeKey();
    const store = new FileTokenStore(directory);
    await refusal(store.get(key));
    await store.set(key, validToken('ours'));
    expect(readFileSync(target, 'utf8')).toBe(before);
    expect(lstatSync(join(directory, tokenFile())).isFile()).toBe(true);
    expect((await store.get(key))?.accessToken).toBe('ours');
  });

  it('a symbolic link at the temporary name an attacker can predict (Math.random is predictable): not written through', async () => {
    // V8's Math.random can be recovered from a few outputs; the attacker here simply knows the next ones.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const root = scratch();
      const directory = join(root, 'tokens');
      mkdirSync(directory, { mode: 0o700 });
      const target = join(root, 'attacker-file');
      writeFileSync(target, 'untouched');
      const key = acmeKey();
      // Every name a Math.random-based scheme could give, as the store of this SDK once wrote them.
      for (const name of [
        `${key}.${process.pid}.i.tmp`,
        `${key}.json.i.tmp`,
        `${key}.${process.pid}.0.5.tmp`,
      ])
        symlinkSync(target, join(directory, name));
      await new FileTokenStore(directory).set(key, validToken('secret-token'));
      expect(readFileSync(target, 'utf8')).toBe('untouched');
    } finally {
      random.mockRestore();
    }
  });
});

describe('FileTokenStore lock: a stale lock is taken over by one process only', () => {
  function contender(env: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [LOCK_CONTENDER],
        { env: { ...process.env, ...env } },
        (error, stdout, stderr) =>
          error && env.MODE !== 'hold-and-die'
            ? reject(new Error(stderr || error.message))
            : resolve(stdout.trim()),
      );
    });
  }

  it('six processes racing for a lock whose holder was killed, again and again: never two holders inside', async () => {
    const root = scratch();
    const directory = join(root, 'tokens');
    const common = {
      STORE_DIR: directory,
      KEY: 'c'.repeat(64),
      TTL_MS: '600',
      HOLD_MS: '20',
      MARKER: join(root, 'inside'),
    };
    // A holder that dies holding the lock: it goes stale after TTL_MS, and the race starts after that.
    expect(await contender({ ...common, MODE: 'hold-and-die' })).toBe('held');
    const startAt = Date.now() + 1500;
    const env = { ...common, MODE: 'race', START_AT: String(startAt), END_AT: String(startAt + 4000) };
    const results = (await Promise.all(Array.from({ length: 6 }, () => contender(env)))).map(
      (line) => JSON.parse(line) as { acquired: number; overlaps: number },
    );
    const acquired = results.reduce((sum, r) => sum + r.acquired, 0);
    const overlaps = results.reduce((sum, r) => sum + r.overlaps, 0);
    expect(overlaps).toBe(0);
    // Half the holders abandon the lock, so it went stale and was taken over several times: the race happened.
    expect(acquired).toBeGreaterThanOrEqual(6);
    // Old lock files are cleared: the directory does not grow with every lock taken.
    expect(readdirSync(directory).length).toBeLessThanOrEqual(2);
  });

  it('a lock file in place of the lock owned by another user is refused, not taken over', async () => {
    const directory = join(scratch(), 'tokens');
    const store = new FileTokenStore(directory);
    const key = 'd'.repeat(64);
    const release = await store.lock(key, 100);
    expect(release).toBeDefined();
    const [lockFile] = readdirSync(directory).filter((name) => name.startsWith(`${key}.lock`));
    expect(lockFile).toBeDefined();
    const path = join(directory, lockFile as string);
    renameSync(path, `${path}.moved`);
    writeFileSync(path, JSON.stringify({ pid: 1, nonce: 'x', takenAt: 0, expiresAt: 0 }));
    chownSync(path, OTHER_USER, OTHER_USER);
    await refusal(store.lock(key, 100));
  });
});
