import type { IncomingMessage } from 'node:http';
import { PortcullisError } from '../errors.js';

/**
 * The value of a header that must appear at most once. Node keeps only the first `Authorization` it
 * receives, so duplicates are found in the raw headers and refused (RFC 6750 §3.1 invalid_request).
 */
export function singleHeader(req: IncomingMessage, lowerCaseName: string): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== lowerCaseName) continue;
    if (value !== undefined) {
      throw new PortcullisError('invalid_request', {
        message: `The ${lowerCaseName} header must be sent once.`,
        detail: `duplicated ${lowerCaseName} header`,
      });
    }
    value = raw[i + 1] as string;
  }
  return value;
}

/**
 * Reads a request body of at most `limitBytes`. A larger declared or actual size is refused with 413
 * before more is buffered.
 */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(limitBytes: number): PortcullisError {
  return new PortcullisError('payload_too_large', {
    message: `The request body must not exceed ${limitBytes} bytes.`,
    headers: { Connection: 'close' },
  });
}

/** The media type of the request, lower-cased, without parameters. */
export function mediaType(req: IncomingMessage): string | undefined {
  const header = req.headers['content-type'];
  if (header === undefined) return undefined;
  return (header.split(';', 1)[0] as string).trim().toLowerCase();
}
