import { randomUUID } from 'node:crypto';
import { ServiceError } from '@temporalio/client';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError } from './errors.js';

/** Body-parser errors carry a `type` and a `status`; they are the client's fault, not ours. */
interface HttpParseError {
  type?: string;
  status?: number;
}

/** The one place errors become responses: `{ error: { code, message, details? } }`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof AppError) {
      if (err.status >= 500) req.log?.warn({ code: err.code, msg: err.message }, 'request failed');
      res.status(err.status).json({ error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } });
      return;
    }
    const parse = err as HttpParseError;
    if (parse?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'invalid_json', message: 'the request body is not valid JSON' } });
      return;
    }
    if (parse?.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'payload_too_large', message: 'the request body is too large' } });
      return;
    }
    if (parse?.type === 'encoding.unsupported' || parse?.type === 'charset.unsupported') {
      res.status(415).json({ error: { code: 'unsupported_media_type', message: 'unsupported body encoding' } });
      return;
    }
    if (err instanceof ServiceError) {
      (req.log ?? logger).error({ err }, 'Temporal call failed');
      res.status(503).json({ error: { code: 'unavailable', message: 'the workflow service is unavailable; retry shortly' } });
      return;
    }
    const errorId = randomUUID();
    (req.log ?? logger).error({ err, errorId }, 'unhandled error');
    res.status(500).json({ error: { code: 'internal', message: `internal error (id ${errorId})` } });
  };
}
