import { PortcullisError } from '../errors.js';
import type { Exchange } from '../wire/exchange.js';
import { sendJsonText } from '../wire/respond.js';
import { publicApiDocument } from './public-api.js';

/** Serialized once: the document is frozen, and tools may fetch it often. */
const PUBLIC_DOCUMENT_TEXT = JSON.stringify(publicApiDocument);

/** It changes only with the server's version: caches may keep it, asking again each time (RFC 9111 §5.2.2.4). */
const NO_CACHE = Object.freeze({ 'Cache-Control': 'no-cache' });

/** `GET /openapi.json`: the public listener's OpenAPI 3.1 document. Public information: no credentials. */
export async function handlePublicDocument(_services: unknown, { req, res, query }: Exchange): Promise<void> {
  // RFC 9110 §9.3.2: HEAD answers as GET without the body (Node leaves the body out).
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new PortcullisError('method_not_allowed', { headers: { Allow: 'GET, HEAD' } });
  }
  if (query !== '') {
    throw new PortcullisError('invalid_request', { message: 'This endpoint takes no URL parameters.' });
  }
  sendJsonText(res, 200, PUBLIC_DOCUMENT_TEXT, NO_CACHE);
}
