import { findAgent, resumePausedAgent } from '../../agents/store.js';
import { idParams } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { defineRoute } from '../route.js';
import { agentSchema } from '../../agents/contracts.js';
import { agentView } from './routes.js';

/**
 * `POST /v1/agents/:id/resume`: an agent paused (by a pause_agent escalation or by hand) takes turns again.
 * Only a paused agent can be resumed (the store checks and changes in one UPDATE).
 */
export function registerAgentResumeRoute({ router, registry, deps }: RouteContext): void {
  defineRoute(router, registry, {
    method: 'post', path: '/v1/agents/:id/resume', tag: 'Agents', summary: 'Resume a paused agent', permission: 'agents:write',
    params: idParams,
    responses: { 200: { description: 'The agent, active again', schema: agentSchema }, 409: { description: 'The agent is not paused' } },
    handler: async ({ params, auth }) => {
      const row = await resumePausedAgent(deps.db, auth.projectId, params.id);
      if (row) return { status: 200, body: agentView(row) };
      const agent = await findAgent(deps.db, auth.projectId, params.id);
      if (!agent) throw new NotFoundError('agent');
      throw new ConflictError('agent_not_paused', `the agent is ${agent.status}`);
    },
  });
}
