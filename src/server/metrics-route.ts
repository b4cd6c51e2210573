import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../observability/metrics.js';
import { parseBearer } from '../auth/tokens.js';

export const METRICS_PATH = '/metrics';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * `GET /metrics`: the app's registry in Prometheus text format. With `token` set
 * (`METRICS_TOKEN`), a scraper must send it as a bearer token (compared in constant time);
 * without it the endpoint is open, for a scraper on a private network.
 */
export async function handleMetrics(metrics: Metrics, token: string | undefined, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (token !== undefined) {
    const sent = parseBearer(req.headers.authorization ?? '');
    if (sent === null || !timingSafeEqual(digest(sent), digest(token))) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer', 'cache-control': 'no-store' });
      res.end('A bearer token (METRICS_TOKEN) is needed.\n');
      return;
    }
  }
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}
