import { findAgent } from '../../agents/store.js';
import { createAssignment, deleteAssignment, findAssignment, listAssignments, updateAssignment } from '../../tools/assignment-store.js';
import { findTool } from '../../tools/store.js';
import { idParams } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { checkOverride } from '../../tools/credential-binding.js';
import { assignmentBody, assignmentSchema, assignmentUpdateBody } from '../../tools/contracts.js';

const assignmentParams = z.object({ id: z.string().uuid(), toolId: z.string().uuid() });

export function registerAssignmentRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Agent tools';
  const loadAgent = async (projectId: string, id: string) => {
    const agent = await findAgent(db, projectId, id);
    if (!agent) throw new NotFoundError('agent');
    return agent;
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/tools', tag, summary: 'Give an agent a tool', permission: 'agents:write',
    params: idParams, body: assignmentBody,
    responses: { 201: { description: 'Assigned', schema: assignmentSchema }, 409: { description: 'Already assigned' } },
    handler: async ({ params, body, auth }) => {
      await loadAgent(auth.projectId, params.id);
      const t = await findTool(db, auth.projectId, body.toolId);
      if (!t || t.archivedAt) throw new NotFoundError('tool');
      checkOverride(t, body.toolConfigOverride);
      const row = await createAssignment(db, params.id, body);
      if (!row) throw new ConflictError('already_assigned', 'the agent already has this tool; PATCH the assignment instead');
      return { status: 201, body: toIso(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/agents/:id/tools', tag, summary: "An agent's tool assignments", permission: 'agents:read',
    params: idParams, responses: { 200: { description: 'Assignments', schema: z.object({ items: z.array(assignmentSchema), nextCursor: z.null() }) } },
    handler: async ({ params, auth }) => {
      await loadAgent(auth.projectId, params.id);
      const rows = await listAssignments(db, params.id);
      return { status: 200, body: { items: rows.map(toIso), nextCursor: null } };
    },
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/agents/:id/tools/:toolId', tag, summary: 'Change an assignment', permission: 'agents:write',
    params: assignmentParams, body: assignmentUpdateBody,
    responses: { 200: { description: 'The assignment', schema: assignmentSchema } },
    handler: async ({ params, body, auth }) => {
      await loadAgent(auth.projectId, params.id);
      if (!(await findAssignment(db, params.id, params.toolId))) throw new NotFoundError('assignment');
      const t = await findTool(db, auth.projectId, params.toolId);
      if (!t) throw new NotFoundError('tool');
      checkOverride(t, body.toolConfigOverride);
      const row = await updateAssignment(db, params.id, params.toolId, body);
      return { status: 200, body: toIso(row!) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/agents/:id/tools/:toolId', tag, summary: 'Take a tool away from an agent', permission: 'agents:write',
    params: assignmentParams, responses: { 204: { description: 'Removed' } },
    handler: async ({ params, auth }) => {
      await loadAgent(auth.projectId, params.id);
      if (!(await deleteAssignment(db, params.id, params.toolId))) throw new NotFoundError('assignment');
      return { status: 204 };
    },
  });
}
