import type { Request, Response } from 'express';
import { listAgents, type AgentRow } from '../../agents/store.js';
import { modelId } from '../../openai-compat/ids.js';
import type { GatewayDeps } from '../deps.js';
import { authOf } from './auth.js';
import { requireModel } from './turn-request.js';

/** Listed models: at most this many agents (the newest first is not promised; OpenAI's list has no paging). */
const MAX_MODELS = 1000;

const modelView = (a: AgentRow) => ({
  id: modelId(a.id),
  object: 'model' as const,
  created: Math.floor(a.createdAt.getTime() / 1000),
  owned_by: `project-${a.projectId}`,
  name: a.name,
});

/** `GET /v1/models`: the project's active agents (templates are not models). */
export function listModelsHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response) => {
    const rows = await listAgents(deps.db, authOf(req).projectId, { status: 'active', isTemplate: false }, { limit: MAX_MODELS });
    res.json({ object: 'list', data: rows.slice(0, MAX_MODELS).map(modelView) });
  };
}

/** `GET /v1/models/:id`: `agent-<id>` or the bare agent id; 404 `model_not_found` for anything else. */
export function retrieveModelHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response) => {
    res.json(modelView(await requireModel(deps, authOf(req).projectId, String(req.params.id))));
  };
}
