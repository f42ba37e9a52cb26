import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { type Express, type RequestHandler } from 'express';
import { AppError, ValidationError } from '../../errors.js';
import { PayloadDecryptionError } from '../../temporal/payload-codec.js';
import { z } from '../../zod.js';
import { authenticate } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { defineRoute } from '../route.js';
import { codecPayloadsSchema, payloadsFromJson, payloadsToJson } from './payloads.js';

/** A whole batch of payloads (the UI sends one event's, the CLI a history's) can exceed the API's 1 MB. */
const CODEC_BODY_LIMIT = '4mb';
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

const headers = z.object({
  'x-namespace': z.string().max(255).optional().openapi({ description: 'The namespace the payloads come from (sent by the Temporal UI)' }),
});

/** CORS for the Temporal UI's origins only; a preflight is answered here, before authentication. */
function cors(origins: string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && origins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true'); // the UI's "include cookies" mode behind an SSO proxy
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Max-Age', '600');
    }
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') return void res.status(204).end();
    next();
  };
}

/**
 * `npm start` only (TEMPORAL_CODEC_TRUST_LOCAL_UI, refused in production): the dev server's UI has no sign-in
 * and can send no key, so a keyless request from its origin over loopback, not through a proxy, counts as an
 * operator. A browser cannot forge Origin, so another web page the developer opens cannot use this.
 */
function operatorAuth(deps: GatewayDeps): RequestHandler {
  const apiKey = authenticate(deps.db, deps.logger);
  const codec = deps.codec;
  return (req, res, next) => {
    const origin = req.headers.origin;
    const local =
      codec?.trustLocalUi && !req.headers.authorization && !req.headers['x-forwarded-for'] &&
      origin !== undefined && codec.uiOrigins.includes(origin) && LOOPBACK.has(req.socket.remoteAddress ?? '');
    if (!local) return apiKey(req, res, next);
    req.auth = { keyId: 'local-ui', projectId: '', permissions: ['operator'] };
    next();
  };
}

/**
 * Temporal's remote codec protocol (`POST {endpoint}/encode|/decode`, proto-JSON payloads), so the Temporal UI
 * (`--ui-codec-endpoint`, TEMPORAL_CODEC_ENDPOINT) and CLI (`--codec-endpoint … --codec-auth "Bearer <key>"`)
 * show plaintext to operators. Registered before the API's JSON parser: codec batches have their own limit.
 */
export function registerCodecRoutes(app: Express, registry: OpenAPIRegistry, deps: GatewayDeps): void {
  const router = express.Router();
  router.use('/codec', cors(deps.codec?.uiOrigins ?? []), express.json({ limit: CODEC_BODY_LIMIT }), operatorAuth(deps));
  for (const direction of ['encode', 'decode'] as const) {
    defineRoute(router, registry, {
      method: 'post', path: `/codec/${direction}`, tag: 'Operators', operationId: `${direction}Payloads`,
      summary: direction === 'decode' ? 'Decrypt Temporal payloads (codec server for the Temporal UI and CLI)' : 'Encrypt Temporal payloads with the active payload key',
      permission: 'operator', headers, body: codecPayloadsSchema,
      responses: { 200: { description: 'The payloads, in the same order', schema: codecPayloadsSchema } },
      handler: async ({ body, req }) => {
        const namespace = req.headers['x-namespace'];
        if (typeof namespace === 'string' && deps.codec && namespace !== deps.codec.namespace) {
          throw new ValidationError(`invalid request: this codec serves namespace "${deps.codec.namespace}", not "${namespace.slice(0, 255)}"`);
        }
        const codec = deps.codec?.payloadCodec;
        // Encryption off: nothing was sealed, so both directions leave payloads as they are.
        if (!codec) return { status: 200, body: body };
        try {
          const payloads = await codec[direction](payloadsFromJson(body));
          return { status: 200, body: payloadsToJson(payloads) };
        } catch (err) {
          if (err instanceof PayloadDecryptionError) throw new AppError(400, 'undecodable_payload', err.message);
          throw err;
        }
      },
    });
  }
  app.use(router);
}
