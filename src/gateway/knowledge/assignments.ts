import { and, asc, eq } from 'drizzle-orm';
import { agentKnowledgeAssignment, knowledgeBase } from '../../db/schema/index.js';
import { findAgent } from '../../agents/store.js';
import { idParams } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const body = z
  .object({
    knowledgeBaseId: z.string().uuid(),
    accessLevel: z.enum(['read', 'search', 'full']).optional(),
    priority: z.number().int().min(0).max(1000).optional().openapi({ description: 'Lower numbers are searched first' }),
  })
  .strict()
  .openapi('AssignKnowledgeBase');

export function registerKnowledgeAssignmentRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Agent knowledge';
  const loadAgent = async (projectId: string, id: string) => {
    if (!(await findAgent(db, projectId, id))) throw new NotFoundError('agent');
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/knowledge', tag, summary: 'Let an agent search a knowledge base', permission: 'agents:write',
    params: idParams, body, responses: { 201: { description: 'Assigned' }, 409: { description: 'Already assigned' } },
    handler: async ({ params, body: b, auth }) => {
      await loadAgent(auth.projectId, params.id);
      const [kb] = await db.select().from(knowledgeBase).where(and(eq(knowledgeBase.id, b.knowledgeBaseId), eq(knowledgeBase.projectId, auth.projectId)));
      if (!kb) throw new NotFoundError('knowledge base');
      const [row] = await db.insert(agentKnowledgeAssignment).values({ ...b, agentId: params.id }).onConflictDoNothing().returning();
      if (!row) throw new ConflictError('already_assigned', 'the agent already searches this knowledge base');
      return { status: 201, body: toIso(row) };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/agents/:id/knowledge', tag, summary: "An agent's knowledge bases in priority order", permission: 'agents:read',
    params: idParams, responses: { 200: { description: 'Assignments' } },
    handler: async ({ params, auth }) => {
      await loadAgent(auth.projectId, params.id);
      const rows = await db.select().from(agentKnowledgeAssignment).where(eq(agentKnowledgeAssignment.agentId, params.id)).orderBy(asc(agentKnowledgeAssignment.priority));
      return { status: 200, body: { items: rows.map(toIso), nextCursor: null } };
    },
  });
  defineRoute(router, registry, {
    method: 'delete', path: '/v1/agents/:id/knowledge/:kbId', tag, summary: 'Stop an agent searching a knowledge base', permission: 'agents:write',
    params: z.object({ id: z.string().uuid(), kbId: z.string().uuid() }), responses: { 204: { description: 'Removed' } },
    handler: async ({ params, auth }) => {
      await loadAgent(auth.projectId, params.id);
      const rows = await db.delete(agentKnowledgeAssignment)
        .where(and(eq(agentKnowledgeAssignment.agentId, params.id), eq(agentKnowledgeAssignment.knowledgeBaseId, params.kbId))).returning();
      if (rows.length === 0) throw new NotFoundError('assignment');
      return { status: 204 };
    },
  });
}
