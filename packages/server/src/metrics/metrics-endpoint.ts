import { PortcullisError } from '../errors.js';
import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';

/**
 * `GET /metrics` on the admin listener, for Prometheus: the text exposition format of every process of
 * the server. No credentials (the admin listener is on a private network, as scrapers expect); nothing in
 * the answer is secret. Not cached on the way: each scrape must see the numbers of its time.
 */
export async function handleMetrics(services: Pick<Services, 'metrics'>, exchange: Exchange): Promise<void> {
  const { req, res, query } = exchange;
  // RFC 9110 §9.3.2: HEAD answers as GET, without the body (Node leaves the body out).
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new PortcullisError('method_not_allowed', { headers: { Allow: 'GET, HEAD' } });
  }
  if (query !== '') {
    throw new PortcullisError('invalid_request', { message: 'This endpoint takes no URL parameters.' });
  }
  const { contentType, body } = await services.metrics.scrape();
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
