import { createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import type { Environment } from '../domain/environment.js';

/**
 * Opens access tokens of version 2, sealed before version 3: plain AES-256-GCM under one key derived from
 * the server secret, with a random 96-bit nonce per token, which NIST SP 800-38D §8.3 allows for at most
 * 2^32 tokens per key. Nothing seals this way any more; tokens last at most 24 hours, so this opener can
 * go one release after version 3, once every node has run it for a day.
 *
 * Envelope: version (1) | nonce (12) | ciphertext | GCM tag (16), with `2:<environment>` as associated data.
 */
export const LEGACY_VERSION = 2;
export const LEGACY_OVERHEAD_BYTES = 1 + 12 + 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_INFO = 'portcullis access token encryption v1';

export class LegacyTokenOpener {
  readonly #key: KeyObject;
  readonly #associatedData: Buffer;

  constructor(serverSecret: Buffer, environment: Environment) {
    this.#key = createSecretKey(Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), KEY_INFO, 32)));
    this.#associatedData = Buffer.from(`${LEGACY_VERSION}:${environment}`);
  }

  /** The plaintext of a whole version-2 envelope, or undefined when it was not sealed here or was altered. */
  open(sealed: Buffer): Buffer | undefined {
    const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(1, 1 + NONCE_BYTES));
    decipher.setAAD(this.#associatedData);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }
}
