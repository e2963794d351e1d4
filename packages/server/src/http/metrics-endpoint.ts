import type { Services } from '../services.js';
import type { Exchange } from '../wire/exchange.js';
import { checkReadOnlyRequest } from '../wire/request.js';

/**
 * `GET /metrics` on the admin listener, for Prometheus: the text exposition format of every process of
 * the server. No credentials (the admin listener is on a private network, as scrapers expect); nothing in
 * the answer is secret. Not cached on the way: each scrape must see the numbers of its time.
 */
export async function handleMetrics(services: Pick<Services, 'metrics'>, exchange: Exchange): Promise<void> {
  const { req, res, query } = exchange;
  checkReadOnlyRequest(req, query);
  const { contentType, body } = await services.metrics.scrape();
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
