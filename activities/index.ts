import type { ToolExecutionDeps } from '../src/tools/execute.js';
import { createEscalationActivities, type EscalationActivityDeps } from './escalations.js';
import { createKnowledgeActivities, type KnowledgeActivityDeps } from './knowledge.js';
import { createSessionActivities } from './sessions.js';
import { createTaskActivities } from './tasks.js';
import { createToolActivities } from './tools.js';
import { createTurnActivities, type TurnActivityDeps } from './turn.js';

export type ActivityDeps = TurnActivityDeps & KnowledgeActivityDeps & { tools: ToolExecutionDeps; escalations: Omit<EscalationActivityDeps, 'db'> };

/** Every activity the worker hosts, built from injected dependencies (see `src/worker.ts`). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createTurnActivities(deps),
    ...createToolActivities(deps.tools),
    ...createKnowledgeActivities(deps),
    ...createTaskActivities(deps),
    ...createSessionActivities(deps),
    ...createEscalationActivities({ db: deps.db, ...deps.escalations }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
