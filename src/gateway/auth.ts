import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { AuthContext } from '../tenancy/api-keys.js';
import { checkApiKey, touchApiKey } from '../tenancy/api-keys-store.js';
import { UnauthorizedError } from '../errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    auth?: AuthContext;
  }
}

/** Why a key was refused, as both our API and the OpenAI-compatible one say it. */
export const apiKeyRejections = {
  unknown: 'the API key is not valid',
  revoked: 'the API key has been revoked',
  expired: 'the API key has expired',
} as const;

/** Resolves `Authorization: Bearer <key>` to the key's project and permissions. */
export function authenticate(db: Db, logger: Logger): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match?.[1]) return next(new UnauthorizedError());
    const result = await checkApiKey(db, match[1]);
    if (!result.ok) return next(new UnauthorizedError(apiKeyRejections[result.reason]));
    req.auth = result.auth;
    touchApiKey(db, result.auth.keyId).catch((err: unknown) => logger.warn({ err }, 'could not record key use'));
    next();
  };
}
