import type { ToolExecutionDeps } from '../src/tools/execute.js';
import { endsAsCanceled, heartbeating } from './heartbeat.js';
import { createEscalationActivities, type EscalationActivityDeps } from './escalations.js';
import { createKnowledgeActivities, type KnowledgeActivityDeps } from './knowledge.js';
import { createSessionActivities } from './sessions.js';
import { createTaskActivities } from './tasks.js';
import { createToolActivities } from './tools.js';
import { createTurnActivities, type TurnActivityDeps } from './turn.js';
import { createWebhookActivities, type WebhookActivityDeps } from './webhooks.js';
import { createTurnControlActivities } from './turn-control.js';

export type ActivityDeps = TurnActivityDeps & KnowledgeActivityDeps & { tools: ToolExecutionDeps; escalations: Omit<EscalationActivityDeps, 'db'>;
  webhooks: Omit<WebhookActivityDeps, 'db'>;
};

/** Every activity the worker hosts, built from injected dependencies (see `src/worker.ts`). */
export function createActivities(deps: ActivityDeps) {
  const tools = createToolActivities(deps.tools);
  const knowledge = createKnowledgeActivities(deps);
  const turn = createTurnActivities({ ...deps, retrieveKnowledge: knowledge.retrieveKnowledge });
  return {
    ...turn,
    // The model calls heartbeat themselves; a canceled turn must see them end as canceled.
    callModel: endsAsCanceled(turn.callModel),
    answerTurn: endsAsCanceled(turn.answerTurn),
    ...createTurnControlActivities(deps),
    // Tool calls heartbeat so that a canceled turn aborts them (their proxy sets a heartbeat timeout).
    ...tools,
    runTool: heartbeating(tools.runTool),
    ...knowledge,
    ...createTaskActivities(deps),
    ...createSessionActivities(deps),
    ...createEscalationActivities({ db: deps.db, ...deps.escalations }),
    ...createWebhookActivities({ db: deps.db, ...deps.webhooks }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
