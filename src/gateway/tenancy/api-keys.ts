import * as keys from '../../tenancy/api-keys-store.js';
import { apiKeySchema, createApiKeyBody, type ApiKeyView } from '../../tenancy/contracts.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ForbiddenError, NotFoundError } from '../../errors.js';
import { hasPermission } from '../../tenancy/api-keys.js';
import { z } from '../../zod.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';

const iso = (d: Date | null) => d?.toISOString() ?? null;
/** Never includes the hash; the plaintext exists only in the create response. */
const keyView = (k: keys.ApiKeyRow): ApiKeyView => ({
  id: k.id, name: k.name, prefix: k.prefix, permissions: k.permissions, isActive: k.isActive,
  expiresAt: iso(k.expiresAt), lastUsedAt: iso(k.lastUsedAt), revokedAt: iso(k.revokedAt), createdAt: k.createdAt.toISOString(),
});

export function registerApiKeyRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'API keys';

  defineRoute(router, registry, {
    method: 'post', path: '/v1/api-keys', tag, summary: 'Create an API key (the key is shown only in this response)',
    permission: 'admin', body: createApiKeyBody,
    responses: { 201: { description: 'Created', schema: z.object({ apiKey: apiKeySchema, key: z.string() }) } },
    handler: async ({ body, auth }) => {
      // An admin is one project's; an operator key reads every project's histories, so only an operator grants one.
      if (body.permissions.includes('operator') && !hasPermission(auth, 'operator')) throw new ForbiddenError('operator');
      const { row, plaintext } = await keys.createApiKey(db, auth.projectId, {
        name: body.name, permissions: body.permissions, expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      });
      return { status: 201, body: { apiKey: keyView(row), key: plaintext } };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/api-keys', tag, summary: "List the project's API keys", permission: 'admin', query: pageQuery,
    description: 'A page of keys', item: apiKeySchema, view: keyView,
    rows: ({ query, auth }) => keys.listApiKeys(db, auth.projectId, query),
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/api-keys/:id', tag, summary: 'Revoke an API key (effective immediately)',
    permission: 'admin', params: idParams,
    responses: { 200: { description: 'The revoked key', schema: apiKeySchema } },
    handler: async ({ params, auth }) => {
      const row = await keys.revokeApiKey(db, auth.projectId, params.id);
      if (!row) throw new NotFoundError('API key');
      return { status: 200, body: keyView(row) };
    },
  });
}
