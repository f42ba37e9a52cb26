import { randomUUID } from 'node:crypto';
import { ServiceError } from '@temporalio/client';
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { answerForDatabaseError } from '../db-errors.js';
import { UnsupportedParamError } from '../../openai-compat/requests.js';
import { GatewayClosingError } from './turn-follow.js';

/** An error answered in OpenAI's shape: `{error: {message, type, code, param}}`. */
export class OpenAiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    /** False when repeating the same request cannot succeed: the SDK then does not retry it. */
    readonly retryable = status >= 500 || status === 408,
  ) {
    super(message);
  }
}

/** A 400 naming the field, as OpenAI's `param` does (`messages[2].role`, `temperature`). */
export const invalidRequest = (param: string | null, message: string, code = 'invalid_value') =>
  new OpenAiError(400, 'invalid_request_error', code, message, param);

/** Codes of our 409s that a later retry may get past (the running turn ends); the others stay as they are. */
const RETRYABLE_CONFLICTS = new Set(['turn_in_progress']);

/** Our own errors (domain and validation), said the way an OpenAI client understands. */
function fromAppError(err: AppError): OpenAiError {
  switch (err.status) {
    case 400: {
      const first = (err.details as Array<{ field?: string }> | undefined)?.[0]?.field;
      const param = first ? first.replace(/^(body|query|params)\.?/, '').replace(/\.(\d+)/g, '[$1]') || null : null;
      return invalidRequest(param, err.message, err.code);
    }
    case 401:
      return new OpenAiError(401, 'invalid_request_error', 'invalid_api_key', err.message);
    case 402:
      return new OpenAiError(429, 'insufficient_quota', 'insufficient_quota', err.message, null, false);
    case 403:
      return new OpenAiError(403, 'permission_error', 'insufficient_permissions', err.message);
    case 404:
      return new OpenAiError(404, 'invalid_request_error', err.code, err.message);
    case 409:
      return new OpenAiError(409, 'invalid_request_error', err.code, err.message, null, RETRYABLE_CONFLICTS.has(err.code));
    case 429:
      return new OpenAiError(429, 'rate_limit_exceeded', err.code, err.message, null, true);
    default:
      return new OpenAiError(err.status, err.status >= 500 ? 'server_error' : 'invalid_request_error', err.code, err.message);
  }
}

/** Body-parser errors (bad JSON, too large) carry a 4xx `status`. */
function fromHttpError(err: unknown): OpenAiError | undefined {
  const e = err as { status?: number; type?: string } | undefined;
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  // The router's decodeURIComponent of a path parameter ("%", "%ZZ").
  if (err instanceof URIError) return new OpenAiError(400, 'invalid_request_error', 'invalid_path', 'a path parameter is not valid percent-encoding', null, false);
  const message = e.type === 'entity.parse.failed' ? 'the request body is not valid JSON' : e.type === 'entity.too.large' ? 'the request body is too large' : 'the request body could not be read';
  return new OpenAiError(e.status, 'invalid_request_error', e.type ?? 'invalid_body', message, null, false);
}

export function sendOpenAiError(res: Response, e: OpenAiError): void {
  // The SDK retries 408, 409, 429 and 5xx unless told otherwise; say so where a retry cannot help.
  if (!e.retryable) res.setHeader('x-should-retry', 'false');
  res.status(e.status).json({ error: { message: e.message, type: e.type, code: e.code, param: e.param } });
}

/** The error handler of the OpenAI-compatible routes; every other route keeps the house format. */
export function openAiErrorHandler(logger: Logger, isOpenAiPath: (path: string) => boolean): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (!isOpenAiPath(req.path)) return next(err);
    if (res.headersSent) return;
    const log = req.log ?? logger;
    if (err instanceof OpenAiError) return sendOpenAiError(res, err);
    if (err instanceof GatewayClosingError) {
      // Without an Idempotency-Key a retry would start a second turn: then the SDK must not retry by itself.
      return sendOpenAiError(res, new OpenAiError(503, 'server_error', 'gateway_shutting_down', err.message, null, req.get('idempotency-key') !== undefined));
    }
    if (err instanceof UnsupportedParamError) return sendOpenAiError(res, invalidRequest(err.param, err.message, err.code));
    if (err instanceof AppError) return sendOpenAiError(res, fromAppError(err));
    const http = fromHttpError(err);
    if (http) return sendOpenAiError(res, http);
    if (err instanceof ServiceError) {
      log.error({ err }, 'Temporal call failed');
      return sendOpenAiError(res, new OpenAiError(503, 'server_error', 'unavailable', 'the workflow service is unavailable; retry shortly'));
    }
    const db = answerForDatabaseError(err);
    if (db) return sendOpenAiError(res, db.status >= 500 ? new OpenAiError(db.status, 'server_error', db.code, db.message) : invalidRequest(null, db.message, db.code));
    const errorId = randomUUID();
    log.error({ err, errorId }, 'unhandled error');
    sendOpenAiError(res, new OpenAiError(500, 'server_error', 'internal', `internal error (id ${errorId})`));
  };
}
