import type { Exchange } from '../wire/exchange.js';
import { checkReadOnlyRequest } from '../wire/request.js';
import { sendJsonText } from '../wire/respond.js';

/** It changes only with the server's version: caches may keep it, asking again each time (RFC 9111 §5.2.2.4). */
const NO_CACHE = Object.freeze({ 'Cache-Control': 'no-cache' });

/**
 * The handler that serves an OpenAPI document (`GET /openapi.json` on the public listener,
 * `GET /admin/v1/openapi.json` on the admin one). No credentials: a document holds no data, and tools
 * read it before they have any. Serialized once: the documents are frozen.
 */
export function documentHandler(document: object): (services: unknown, exchange: Exchange) => Promise<void> {
  const text = JSON.stringify(document);
  return async (_services, { req, res, query }) => {
    checkReadOnlyRequest(req, query);
    sendJsonText(res, 200, text, NO_CACHE);
  };
}
