import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a `/metrics` answer is made of: the exposition text and its content type. */
export interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * True when `Authorization` is `Bearer <token>`. Both sides are hashed first, so the comparison is constant
 * time and takes the same time whatever the length of what was sent.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return timingSafeEqual(digest(given ?? ''), digest(token)) && given !== undefined;
}

/**
 * `GET /metrics` as a plain Node handler (the gateway mounts it in Express, the worker serves it alone): open
 * when no token is configured (METRICS_TOKEN), otherwise a Bearer token, with a 401 in the gateway's JSON error
 * shape. A source that fails answers 500 without its error text.
 */
export function metricsHandler(source: MetricsSource, token: string | undefined, onError: (err: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
      res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' } }));
      return;
    }
    source.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': source.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      (err: unknown) => {
        onError(err);
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code: 'internal', message: 'metrics could not be collected' } }));
      },
    );
  };
}
