import { createTurnActivities, type TurnActivityDeps } from './turn.js';

export type ActivityDeps = TurnActivityDeps;

/** Every activity the worker hosts, built from injected dependencies (see `src/worker.ts`). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createTurnActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
