import { and, eq } from 'drizzle-orm';
import { apiKey } from '../../db/schema/index.js';
import { createApiKey } from '../../tenancy/projects-store.js';
import { permissions } from '../../tenancy/api-keys.js';
import { idParams, isoDateTime, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';

const createBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    permissions: z.array(z.enum(permissions)).min(1),
    expiresAt: isoDateTime().refine((v) => Date.parse(v) > Date.now(), 'must be in the future').optional(),
  })
  .strict()
  .openapi('CreateApiKey');

const keySchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The visible start of the key' }),
    permissions: z.array(z.string()),
    isActive: z.boolean(),
    expiresAt: z.string().datetime().nullable(),
    lastUsedAt: z.string().datetime().nullable(),
    revokedAt: z.string().datetime().nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi('ApiKey');

type KeyRow = typeof apiKey.$inferSelect;
const iso = (d: Date | null) => d?.toISOString() ?? null;
/** Never includes the hash; the plaintext exists only in the create response. */
const keyView = (k: KeyRow) => ({
  id: k.id, name: k.name, prefix: k.prefix, permissions: k.permissions, isActive: k.isActive,
  expiresAt: iso(k.expiresAt), lastUsedAt: iso(k.lastUsedAt), revokedAt: iso(k.revokedAt), createdAt: k.createdAt.toISOString(),
});

export function registerApiKeyRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'API keys';

  defineRoute(router, registry, {
    method: 'post', path: '/v1/api-keys', tag, summary: 'Create an API key (the key is shown only in this response)',
    permission: 'admin', body: createBody,
    responses: { 201: { description: 'Created', schema: z.object({ apiKey: keySchema, key: z.string() }) } },
    handler: async ({ body, auth }) => {
      const { row, plaintext } = await createApiKey(db, auth.projectId, {
        name: body.name, permissions: body.permissions, expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
      });
      return { status: 201, body: { apiKey: keyView(row), key: plaintext } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/api-keys', tag, summary: "List the project's API keys", permission: 'admin', query: pageQuery,
    responses: { 200: { description: 'A page of keys', schema: pageSchema(keySchema) } },
    handler: async ({ query, auth }) => {
      const page = keyset(apiKey, query.cursor);
      const rows = await db.select().from(apiKey).where(and(eq(apiKey.projectId, auth.projectId), page.where))
        .orderBy(...page.orderBy).limit(query.limit + 1);
      return { status: 200, body: toPage(rows, query.limit, keyView) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/api-keys/:id', tag, summary: 'Revoke an API key (effective immediately)',
    permission: 'admin', params: idParams,
    responses: { 200: { description: 'The revoked key', schema: keySchema } },
    handler: async ({ params, auth }) => {
      const [row] = await db.update(apiKey).set({ isActive: false, revokedAt: new Date() })
        .where(and(eq(apiKey.id, params.id), eq(apiKey.projectId, auth.projectId))).returning();
      if (!row) throw new NotFoundError('API key');
      return { status: 200, body: keyView(row) };
    },
  });
}
