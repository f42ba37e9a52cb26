import { toIso } from '../serialize.js';
import * as agents from '../../agents/store.js';
import { validateConfigValue, configKeySchema } from '../../agents/settings.js';
import { templateError } from '../../agents/prompt-template.js';
import { idParams, pageQuery, pageSchema } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { enforcePlanLimit } from '../../tenancy/plan-limits.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import {
  agentSchema,
  cloneAgentBody,
  configEntrySchema,
  configParams,
  configValueBody,
  createAgentBody,
  listAgentsQuery,
  updateAgentBody,
} from '../../agents/contracts.js';

export const agentView = (row: agents.AgentRow) => toIso(row);

/** System prompts and first messages are Liquid; one that does not parse is refused at save time. */
function checkTemplates(body: { systemPrompt?: string; firstMessage?: string | null }) {
  for (const field of ['systemPrompt', 'firstMessage'] as const) {
    const text = body[field];
    const problem = text ? templateError(text) : null;
    if (problem) throw new ValidationError(`invalid request: body.${field}: not a valid Liquid template: ${problem}`, [{ field: `body.${field}`, message: problem }]);
  }
}

export function registerAgentRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Agents';
  const load = async (projectId: string, id: string) => {
    const agent = await agents.findAgent(db, projectId, id);
    if (!agent) throw new NotFoundError('agent');
    return agent;
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents', tag, summary: 'Create an agent', permission: 'agents:write',
    body: createAgentBody,
    responses: { 201: { description: 'Created', schema: agentSchema } },
    handler: async ({ body, auth }) => {
      checkTemplates(body);
      await enforcePlanLimit(db, auth.projectId, 'agents');
      return { status: 201, body: agentView(await agents.createAgent(db, auth.projectId, body)) };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/agents', tag, summary: 'List agents (archived ones only with status=archived)',
    permission: 'agents:read', query: pageQuery.merge(listAgentsQuery),
    description: 'A page of agents', item: agentSchema, view: agentView,
    rows: ({ query, auth }) => agents.listAgents(db, auth.projectId, query, { cursor: query.cursor, limit: query.limit }),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/agents/:id', tag, summary: 'Get an agent', permission: 'agents:read', params: idParams,
    responses: { 200: { description: 'The agent', schema: agentSchema } },
    handler: async ({ params, auth }) => ({ status: 200, body: agentView(await load(auth.projectId, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/agents/:id', tag, summary: 'Change an agent', permission: 'agents:write',
    params: idParams, body: updateAgentBody,
    responses: { 200: { description: 'The changed agent', schema: agentSchema }, 409: { description: 'Agent archived' } },
    handler: async ({ params, body, auth }) => {
      const agent = await load(auth.projectId, params.id);
      if (agent.status === 'archived') throw new ConflictError('agent_archived', 'an archived agent cannot be changed');
      checkTemplates(body);
      return { status: 200, body: agentView((await agents.updateAgent(db, auth.projectId, params.id, body))!) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/agents/:id', tag, summary: 'Archive an agent (its history stays)',
    permission: 'agents:write', params: idParams,
    responses: { 200: { description: 'The archived agent', schema: agentSchema } },
    handler: async ({ params, auth }) => {
      const agent = await load(auth.projectId, params.id);
      if (agent.status === 'archived') return { status: 200, body: agentView(agent) };
      const archived = await agents.updateAgent(db, auth.projectId, params.id, { status: 'archived', archivedAt: new Date() });
      return { status: 200, body: agentView(archived!) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/clone', tag, summary: 'Clone an agent or template with its config',
    permission: 'agents:write', params: idParams, body: cloneAgentBody,
    responses: { 201: { description: 'The clone', schema: agentSchema } },
    handler: async ({ params, body, auth }) => {
      const source = await load(auth.projectId, params.id);
      await enforcePlanLimit(db, auth.projectId, 'agents');
      return { status: 201, body: agentView(await agents.cloneAgent(db, source, body)) };
    },
  });

  const configView = (c: { configKey: string; configValue: unknown; updatedAt: Date }) => ({
    key: c.configKey,
    value: c.configValue,
    updatedAt: c.updatedAt.toISOString(),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/agents/:id/config', tag, summary: "List an agent's config values",
    permission: 'agents:read', params: idParams,
    responses: { 200: { description: 'Config entries', schema: pageSchema(configEntrySchema) } },
    handler: async ({ params, auth }) => {
      await load(auth.projectId, params.id);
      const rows = await agents.listAgentConfig(db, params.id);
      return { status: 200, body: { items: rows.map(configView), nextCursor: null } };
    },
  });

  defineRoute(router, registry, {
    method: 'put', path: '/v1/agents/:id/config/:key', tag, summary: 'Set one config value',
    permission: 'agents:write', params: configParams.extend({ key: configKeySchema }), body: configValueBody,
    responses: { 200: { description: 'The stored entry', schema: configEntrySchema } },
    handler: async ({ params, body, auth }) => {
      await load(auth.projectId, params.id);
      const check = validateConfigValue(params.key, body.value);
      if (!check.ok) {
        throw new ValidationError(`invalid request: body.value: ${check.message}`, [{ field: 'body.value', message: check.message }]);
      }
      return { status: 200, body: configView(await agents.setAgentConfig(db, params.id, params.key, body.value)) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/agents/:id/config/:key', tag, summary: 'Remove one config value',
    permission: 'agents:write', params: configParams,
    responses: { 204: { description: 'Removed' } },
    handler: async ({ params, auth }) => {
      await load(auth.projectId, params.id);
      if (!(await agents.deleteAgentConfig(db, params.id, params.key))) throw new NotFoundError('config key');
      return { status: 204 };
    },
  });
}
