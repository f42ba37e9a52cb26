import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { hasPermission, type AuthContext, type Permission } from '../../tenancy/api-keys.js';
import { checkApiKey, touchApiKey } from '../../tenancy/api-keys-store.js';
import { apiKeyRejections } from '../auth.js';
import { OpenAiError } from './errors.js';

/**
 * Our API keys as the Bearer token the OpenAI SDKs send. A missing or bad key is OpenAI's 401
 * `invalid_api_key` (not retried); a key without any of `permissions` is a 403.
 */
export function openAiAuth(db: Db, logger: Logger, permissions: Permission[]): RequestHandler {
  return async (req, _res, next) => {
    const match = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match?.[1]) return next(new OpenAiError(401, 'invalid_request_error', 'invalid_api_key', 'a valid API key is required (Authorization: Bearer <key>)', null, false));
    const result = await checkApiKey(db, match[1]);
    if (!result.ok) return next(new OpenAiError(401, 'invalid_request_error', 'invalid_api_key', apiKeyRejections[result.reason], null, false));
    if (!permissions.some((p) => hasPermission(result.auth, p))) {
      return next(new OpenAiError(403, 'permission_error', 'insufficient_permissions', `this API key lacks the "${permissions.join('" or "')}" permission`, null, false));
    }
    req.auth = result.auth;
    touchApiKey(db, result.auth.keyId).catch((err: unknown) => logger.warn({ err }, 'could not record key use'));
    next();
  };
}

/** The caller's key, set by {@link openAiAuth}. */
export function authOf(req: Request): AuthContext {
  if (!req.auth) throw new OpenAiError(401, 'invalid_request_error', 'invalid_api_key', 'a valid API key is required', null, false);
  return req.auth;
}
