import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Xaes256Gcm } from '../src/keys/xaes-256-gcm.js';

const NONCE = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWX');

/** The two vectors of https://c2sp.org/XAES-256-GCM §Test vectors: MSB₁(L) = 0, then MSB₁(L) = 1. */
const VECTORS = [
  {
    key: '01'.repeat(32),
    derived: 'c8612c9ed53fe43e8e005b828a1631a0bbcb6ab2f46514ec4f439fcfd0fa969b',
    aad: '',
    ciphertext: 'ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271',
  },
  {
    key: '03'.repeat(32),
    derived: 'e9c621d4cdd9b11b00a6427ad7e559aeedd66b3857646677748f8ca796cb3fd8',
    aad: 'c2sp.org/XAES-256-GCM',
    ciphertext: '986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d',
  },
];

describe('XAES-256-GCM (c2sp.org/XAES-256-GCM)', () => {
  it.each(VECTORS)('derives the published subkey and ciphertext for key $key', (vector) => {
    const xaes = new Xaes256Gcm(Buffer.from(vector.key, 'hex'));
    expect(xaes.deriveKey(NONCE).toString('hex')).toBe(vector.derived);
    const aad = Buffer.from(vector.aad);
    const sealed = xaes.seal(NONCE, Buffer.from('XAES-256-GCM'), aad);
    expect(sealed.toString('hex')).toBe(vector.ciphertext);
    expect(xaes.open(NONCE, sealed, aad)?.toString()).toBe('XAES-256-GCM');
  });

  it('matches the accumulated randomized test over 10 000 messages', () => {
    // The inputs are read from one SHAKE-128 stream of the empty string, as the spec's RFC 8446-style
    // structure { key[32]; nonce[24]; plaintext<0..255>; aad<0..255> }, and the ciphertexts hashed with
    // another SHAKE-128. At most 570 bytes per message: one long output serves as the stream.
    const stream = createHash('shake128', { outputLength: 10_000 * 570 }).digest();
    expect(stream.subarray(0, 16).toString('hex')).toBe('7f9c2ba4e88f827d616045507605853e');
    let offset = 0;
    const read = (length: number) => {
      offset += length;
      return stream.subarray(offset - length, offset);
    };
    const hash = createHash('shake128', { outputLength: 32 });
    for (let i = 0; i < 10_000; i++) {
      const xaes = new Xaes256Gcm(read(32));
      const nonce = read(24);
      const plaintext = read(read(1)[0]);
      const aad = read(read(1)[0]);
      const sealed = xaes.seal(nonce, plaintext, aad);
      hash.update(sealed);
      expect(xaes.open(nonce, sealed, aad)?.equals(plaintext)).toBe(true);
    }
    expect(hash.digest('hex')).toBe('e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939');
  });

  it('refuses a ciphertext whose nonce, tag, body or associated data was altered', () => {
    const xaes = new Xaes256Gcm(Buffer.alloc(32, 7));
    const aad = Buffer.from('aad');
    const sealed = xaes.seal(NONCE, Buffer.from('plaintext'), aad);
    for (let i = 0; i < sealed.length; i++) {
      const altered = Buffer.from(sealed);
      altered[i] ^= 1;
      expect(xaes.open(NONCE, altered, aad)).toBeUndefined();
    }
    for (let i = 0; i < NONCE.length; i++) {
      const nonce = Buffer.from(NONCE);
      nonce[i] ^= 1;
      expect(xaes.open(nonce, sealed, aad)).toBeUndefined();
    }
    expect(xaes.open(NONCE, sealed, Buffer.from('aae'))).toBeUndefined();
    expect(xaes.open(NONCE, sealed.subarray(0, 15), aad)).toBeUndefined();
  });
});
