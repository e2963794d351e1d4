import type { IncomingMessage } from 'node:http';
import { PortcullisError } from '../errors.js';
import { parseMediaType } from './media-type.js';

/**
 * The value of a header that must appear at most once. Node keeps only the first `Authorization` it
 * receives, so duplicates are found in the raw headers and refused (RFC 6750 §3.1 invalid_request).
 */
export function singleHeader(req: IncomingMessage, lowerCaseName: string): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Comparing lengths first spares a lower-casing of every other header on this hot path.
    if (name.length !== lowerCaseName.length || name.toLowerCase() !== lowerCaseName) continue;
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
 * The steps of a read-only resource without parameters (health, metrics, documents): GET or HEAD (RFC
 * 9110 §9.3.2: HEAD answers as GET without the body, which Node leaves out), and nothing in the URL.
 */
export function checkReadOnlyRequest(req: IncomingMessage, query: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new PortcullisError('method_not_allowed', { headers: { Allow: 'GET, HEAD' } });
  }
  if (query !== '') {
    throw new PortcullisError('invalid_request', { message: 'This endpoint takes no URL parameters.' });
  }
}

/**
 * Reads a request body of at most `limitBytes`. A larger declared or actual size is refused with 413
 * before more is buffered.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) return Promise.reject(tooLarge(limitBytes));
  // Plain listeners rather than async iteration: this runs on every token request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.off('data', onData);
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function tooLarge(limitBytes: number): PortcullisError {
  return new PortcullisError('payload_too_large', {
    message: `The request body must not exceed ${limitBytes} bytes.`,
    headers: { Connection: 'close' },
  });
}

/** The media type of the request, lower-cased, without parameters; undefined when missing or malformed. */
export function mediaType(req: IncomingMessage): string | undefined {
  const header = req.headers['content-type'];
  return header === undefined ? undefined : parseMediaType(header)?.head;
}

/**
 * Whether the request shows signs of coming from a browser: an `Origin` header, or fetch metadata that
 * only browsers send (`Sec-Fetch-Site`, `Sec-Fetch-Dest`, and `Sec-Fetch-Mode` other than `cors`).
 * `Sec-Fetch-Mode: cors` alone is not a sign: Node's own fetch (undici) sends it on every request.
 */
export function comesFromBrowser(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 6 && name.length !== 14) continue;
    const lower = name.toLowerCase();
    if (lower === 'origin' || lower === 'sec-fetch-site' || lower === 'sec-fetch-dest') return true;
    if (lower === 'sec-fetch-mode' && (raw[i + 1] as string).trim().toLowerCase() !== 'cors') return true;
  }
  return false;
}

/**
 * Whether a browser's request comes from a page of this very origin (the dashboard), or from the operator
 * typing the address: fetch metadata says so (`Sec-Fetch-Site: same-origin` or `none`), and an `Origin`
 * header, when sent, names `https://` and this request's own host. A browser that sends neither is old
 * enough to be refused.
 */
export function isSameOriginBrowserRequest(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site === undefined && origin === undefined) return false;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  return origin === undefined || origin === `https://${req.headers.host}`;
}
