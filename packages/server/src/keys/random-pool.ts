import { randomFillSync } from 'node:crypto';

/**
 * CSPRNG bytes drawn from a pre-filled pool: one call into the system generator serves many tokens, as
 * Node does for randomUUID. The bytes are copied out and never handed out twice.
 */
const POOL_SIZE = 8192;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

export function pooledRandomBytes(size: number): Buffer {
  if (size > POOL_SIZE) throw new RangeError(`at most ${POOL_SIZE} bytes`);
  if (offset + size > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  offset += size;
  return bytes;
}
