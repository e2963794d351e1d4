import { type Cipher, createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * XAES-256-GCM (https://c2sp.org/XAES-256-GCM): AES-256-GCM with a 192-bit nonce, safe to draw at random
 * for about 2^80 messages under one key where plain AES-256-GCM allows 2^32 (NIST SP 800-38D §8.3). The
 * first 96 bits of the nonce derive a fresh AES-256-GCM key with the NIST SP 800-108r1 counter-mode KDF
 * over AES-256-CMAC; the last 96 bits are the GCM nonce under that key. So each key sees one message per
 * random 96-bit value, and a repeat needs two 192-bit nonces to collide.
 */
export const XAES_NONCE_BYTES = 24;
export const XAES_TAG_BYTES = 16;

const BLOCK_BYTES = 16;
const KDF_NONCE_BYTES = 12;
/** 0b10000111: the constant of the CMAC subkey doubling for 128-bit blocks (NIST SP 800-38B §5.3). */
const CMAC_RB = 0x87;
/** The KDF label, ASCII `X`, as the spec fixes it. */
const LABEL = 0x58;
/** Where the nonce's first 96 bits sit in each KDF block, after 0x00 || i || 0x58 || 0x00. */
const NONCE_OFFSET = 4;

export class Xaes256Gcm {
  /**
   * AES-256 under the input key, one block at a time: ECB without padding encrypts each whole block
   * independently and holds nothing back, so one context serves every derivation and is never finished.
   */
  readonly #block: Cipher;
  /**
   * M1 ⊕ K1 || M2 ⊕ K1 with the nonce's bytes left zero, where Mi = 0x00 || i || 0x58 || 0x00 || N[:12]
   * (spec steps 1 to 4): K1, the CMAC subkey, is the same for every message under the key, so per message
   * only the nonce is XORed in.
   */
  readonly #blocks: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RangeError('XAES-256-GCM needs a 256-bit key');
    this.#block = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const l = this.#block.update(Buffer.alloc(BLOCK_BYTES));
    const k1 = Buffer.alloc(BLOCK_BYTES);
    for (let i = 0; i < BLOCK_BYTES; i++) {
      const carry = i + 1 < BLOCK_BYTES ? l[i + 1] >> 7 : 0;
      k1[i] = ((l[i] << 1) | carry) & 0xff;
    }
    if (l[0] & 0x80) k1[BLOCK_BYTES - 1] ^= CMAC_RB;
    this.#blocks = Buffer.alloc(2 * BLOCK_BYTES);
    for (const counter of [1, 2]) {
      const m = this.#blocks.subarray((counter - 1) * BLOCK_BYTES, counter * BLOCK_BYTES);
      m[1] = counter;
      m[2] = LABEL;
      for (let i = 0; i < BLOCK_BYTES; i++) m[i] ^= k1[i];
    }
  }

  /**
   * The AES-256-GCM key for `nonce` (spec step 5): AES-256(M1 ⊕ K1) || AES-256(M2 ⊕ K1), that is CMAC
   * over one block per counter of the NIST SP 800-108r1 KDF.
   */
  deriveKey(nonce: Buffer): Buffer {
    if (nonce.length !== XAES_NONCE_BYTES) throw new RangeError('XAES-256-GCM needs a 192-bit nonce');
    const blocks = Buffer.from(this.#blocks);
    for (let i = 0; i < KDF_NONCE_BYTES; i++) {
      blocks[NONCE_OFFSET + i] ^= nonce[i];
      blocks[BLOCK_BYTES + NONCE_OFFSET + i] ^= nonce[i];
    }
    return this.#block.update(blocks);
  }

  /** Ciphertext followed by the 128-bit tag. */
  seal(nonce: Buffer, plaintext: Buffer, associatedData: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.deriveKey(nonce), nonce.subarray(KDF_NONCE_BYTES));
    cipher.setAAD(associatedData);
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }

  /** The plaintext, or undefined when the ciphertext, tag, nonce or associated data was altered. */
  open(nonce: Buffer, sealed: Buffer, associatedData: Buffer): Buffer | undefined {
    if (sealed.length < XAES_TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', this.deriveKey(nonce), nonce.subarray(KDF_NONCE_BYTES));
    decipher.setAAD(associatedData);
    decipher.setAuthTag(sealed.subarray(sealed.length - XAES_TAG_BYTES));
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - XAES_TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }
}
