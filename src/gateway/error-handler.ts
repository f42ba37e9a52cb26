import { randomUUID } from 'node:crypto';
import { ServiceError } from '@temporalio/client';
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { answerForDatabaseError } from './db-errors.js';
import { AppError } from '../errors.js';

/** Body-parser and router errors carry a `type` and a `status`; a 4xx status is the client's fault, not ours. */
interface HttpError {
  type?: string;
  status?: number;
  statusCode?: number;
}

function send(res: Response, status: number, code: string, message: string, details?: unknown) {
  res.status(status).json({ error: { code, message, ...(details !== undefined ? { details } : {}) } });
}

/** Errors of the HTTP layer (body parsing, decompression, path decoding) that the client caused. */
function answerForHttpError(err: unknown): { status: number; code: string; message: string } | undefined {
  const e = err as HttpError | undefined;
  const status = e?.status ?? e?.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (e?.type) {
    case 'entity.parse.failed':
      return { status: 400, code: 'invalid_json', message: 'the request body is not valid JSON' };
    case 'entity.too.large':
      return { status: 413, code: 'payload_too_large', message: 'the request body is too large' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'unsupported_media_type', message: 'unsupported body encoding' };
  }
  // The router's decodeURIComponent of a path parameter ("%", "%ZZ", a cut UTF-8 sequence).
  if (err instanceof URIError) return { status: 400, code: 'invalid_path', message: 'a path parameter is not valid percent-encoding' };
  if (status === 400) return { status, code: 'invalid_body', message: 'the request body could not be read (corrupt compression or a cut-off body)' };
  return { status, code: 'bad_request', message: 'the request was refused' };
}

/** The one place errors become responses: `{ error: { code, message, details? } }`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    const log = req.log ?? logger;
    if (err instanceof AppError) {
      if (err.status >= 500) log.warn({ code: err.code, msg: err.message }, 'request failed');
      send(res, err.status, err.code, err.message, err.details);
      return;
    }
    const http = answerForHttpError(err);
    if (http) return send(res, http.status, http.code, http.message);
    if (err instanceof ServiceError) {
      log.error({ err }, 'Temporal call failed');
      return send(res, 503, 'unavailable', 'the workflow service is unavailable; retry shortly');
    }
    const db = answerForDatabaseError(err);
    if (db) {
      log[db.status >= 500 ? 'error' : 'warn']({ err }, 'database refused the request');
      return send(res, db.status, db.code, db.message);
    }
    const errorId = randomUUID();
    log.error({ err, errorId }, 'unhandled error');
    send(res, 500, 'internal', `internal error (id ${errorId})`);
  };
}
