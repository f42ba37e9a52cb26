import { findAgent } from '../../agents/store.js';
import { assignKnowledgeBody, knowledgeAssignmentParams } from '../../knowledge/contracts.js';
import { assignKnowledgeBase, findKnowledgeBase, listKnowledgeAssignments, unassignKnowledgeBase } from '../../knowledge/store.js';
import { idParams } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

export function registerKnowledgeAssignmentRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Agent knowledge';
  const loadAgent = async (projectId: string, id: string) => {
    if (!(await findAgent(db, projectId, id))) throw new NotFoundError('agent');
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/knowledge', tag, summary: 'Let an agent search a knowledge base', permission: 'agents:write',
    params: idParams, body: assignKnowledgeBody, responses: { 201: { description: 'Assigned' }, 409: { description: 'Already assigned' } },
    handler: async ({ params, body: b, auth }) => {
      await loadAgent(auth.projectId, params.id);
      if (!(await findKnowledgeBase(db, auth.projectId, b.knowledgeBaseId))) throw new NotFoundError('knowledge base');
      const row = await assignKnowledgeBase(db, params.id, b);
      if (!row) throw new ConflictError('already_assigned', 'the agent already searches this knowledge base');
      return { status: 201, body: toIso(row) };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/agents/:id/knowledge', tag, summary: "An agent's knowledge bases in priority order", permission: 'agents:read',
    params: idParams, responses: { 200: { description: 'Assignments' } },
    handler: async ({ params, auth }) => {
      await loadAgent(auth.projectId, params.id);
      const rows = await listKnowledgeAssignments(db, params.id);
      return { status: 200, body: { items: rows.map(toIso), nextCursor: null } };
    },
  });
  defineRoute(router, registry, {
    method: 'delete', path: '/v1/agents/:id/knowledge/:kbId', tag, summary: 'Stop an agent searching a knowledge base', permission: 'agents:write',
    params: knowledgeAssignmentParams, responses: { 204: { description: 'Removed' } },
    handler: async ({ params, auth }) => {
      await loadAgent(auth.projectId, params.id);
      if (!(await unassignKnowledgeBase(db, params.id, params.kbId))) throw new NotFoundError('assignment');
      return { status: 204 };
    },
  });
}
