import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { preparePrivateDirectory, requirePrivateFile } from '../store/data-directory.js';

const SECRET_FILE = 'server-secret';
const SECRET_BYTES = 32;
/**
 * At most this many secrets at once: the current one and older ones kept during a rotation. Each older
 * secret costs one more HMAC for a key that misses and one more open for a forged token, so the list is
 * kept short; a rotation needs two.
 */
export const MAX_SECRETS = 4;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const FINGERPRINT_INFO = 'portcullis server-secret fingerprint';
/** 96 bits: enough to tell secrets apart, far too few to help anyone guess one. */
const FINGERPRINT_CHARS = 16;

/** A new secret, as `portcullis secret generate` prints it: 32 random bytes, base64url. */
export function generateServerSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/**
 * What identifies a secret in logs, errors and the store: an HMAC keyed by the secret over a fixed label,
 * cut to 16 base64url characters. It cannot be turned back into the secret, and without the secret it
 * cannot be computed, so showing it lets operators compare machines without showing the secret.
 */
export function serverSecretFingerprint(secret: Buffer): string {
  return createHmac('sha256', secret)
    .update(FINGERPRINT_INFO)
    .digest('base64url')
    .slice(0, FINGERPRINT_CHARS);
}

/**
 * The server secrets, current first: the current one keys the HMAC of new API keys and seals new tokens;
 * the older ones (a rotation in progress) still verify keys and open tokens. The values are private
 * fields, so printing or serialising this object shows fingerprints only.
 */
export class ServerSecrets {
  readonly #secrets: readonly Buffer[];
  /** Where they came from, for messages: the variable, the file, or the data directory's file. */
  readonly source: string;

  constructor(secrets: readonly Buffer[], source: string) {
    if (secrets.length === 0 || secrets.length > MAX_SECRETS) {
      throw new RangeError(`${source} must hold 1 to ${MAX_SECRETS} secrets`);
    }
    this.#secrets = secrets;
    this.source = source;
  }

  get current(): Buffer {
    return this.#secrets[0] as Buffer;
  }

  /** Every secret, current first. */
  get all(): readonly Buffer[] {
    return this.#secrets;
  }

  fingerprints(): string[] {
    return this.#secrets.map(serverSecretFingerprint);
  }

  toJSON(): string {
    return `ServerSecrets(${this.fingerprints().join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}

/** Where secrets may come from; the first given wins. */
export interface SecretSources {
  /** `PORTCULLIS_SECRETS`, or the `secrets` option: base64url values, current first. */
  readonly secrets?: readonly string[] | undefined;
  /** `--secrets-file`: one secret a line, current first. */
  readonly secretsFile?: string | undefined;
  /** The zero-setup default: the data directory's `server-secret` file. */
  readonly dataDir: string;
}

/** Names the variable and the option alike, as option refusals do. */
const SECRETS_OPTION = 'secrets (PORTCULLIS_SECRETS)';

/**
 * The secrets of the first source given, checked; undefined when none was given and the data directory
 * has no secret file yet (the caller decides whether to make one, `createDataDirSecret`). A refusal names
 * the variable or file and which entry, never a value.
 */
export function readServerSecrets(sources: SecretSources): ServerSecrets | undefined {
  if (sources.secrets !== undefined) {
    if (!Array.isArray(sources.secrets)) throw new Error(`${SECRETS_OPTION} must be a list of secrets`);
    return new ServerSecrets(decodeAll(sources.secrets, SECRETS_OPTION), 'PORTCULLIS_SECRETS');
  }
  if (sources.secretsFile !== undefined) {
    const path = sources.secretsFile;
    return new ServerSecrets(readSecretsFile(path, 'the secrets file'), `--secrets-file ${path}`);
  }
  const path = join(sources.dataDir, SECRET_FILE);
  if (!existsSync(path)) return undefined;
  return new ServerSecrets(readSecretsFile(path, 'the server secret'), path);
}

/** Splits `PORTCULLIS_SECRETS`: comma-separated, spaces around each ignored. */
export function splitSecretList(text: string): string[] {
  return text.split(',').map((entry) => entry.trim());
}

/** Makes the data directory's secret file (mode 0600) and returns its secret. */
export function createDataDirSecret(dataDir: string): ServerSecrets {
  preparePrivateDirectory(dataDir);
  const path = join(dataDir, SECRET_FILE);
  try {
    writeFileSync(path, generateServerSecret(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return new ServerSecrets(readSecretsFile(path, 'the server secret'), path);
}

/**
 * The data directory's secret, made on first use: for tests and benchmarks that build an admin context
 * next to a server on the same data directory. Servers and the CLI go through `prepareServerSecrets`.
 */
export function loadOrCreateServerSecret(dataDir: string): Buffer {
  return (readServerSecrets({ dataDir }) ?? createDataDirSecret(dataDir)).current;
}

/**
 * A secrets file, or the data directory's: one base64url secret a line, current first; blank lines and `#`
 * comments skipped. It must be private (this user's, mode 0600): whoever reads it can mint tokens.
 */
function readSecretsFile(path: string, what: string): Buffer[] {
  let text: string;
  try {
    requirePrivateFile(path, what);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${what} ${path} does not exist`);
    if (code === 'EACCES') throw new Error(`${what} ${path} cannot be read by this user`);
    throw error;
  }
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return decodeAll(entries, `${what} ${path}`);
}

function decodeAll(entries: readonly unknown[], where: string): Buffer[] {
  if (entries.length === 0) throw new Error(`${where} holds no secret`);
  if (entries.length > MAX_SECRETS) {
    throw new Error(`${where} holds ${entries.length} secrets; at most ${MAX_SECRETS} (current and older)`);
  }
  return entries.map((entry, index) => {
    const secret =
      typeof entry === 'string' && BASE64URL.test(entry) ? Buffer.from(entry, 'base64url') : undefined;
    if (secret === undefined || secret.length < SECRET_BYTES) {
      throw new Error(
        `${where}: secret ${index + 1} is not at least ${SECRET_BYTES} bytes of base64url; make one with portcullis secret generate`,
      );
    }
    return secret;
  });
}
