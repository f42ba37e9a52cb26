import { activityInfo } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import { beginTurn } from '../src/conversations/turn-store.js';
import { cancelTurn } from '../src/conversations/turn-cancel.js';
import type { TurnCancelReason, TurnInput } from '../workflows/contracts/index.js';

export interface CancelTurnInput {
  turn: TurnInput;
  reason: TurnCancelReason;
  startedAtMs: number;
}

export function createTurnControlActivities(deps: { db: Db }) {
  return {
    /**
     * Records a canceled turn: its row and user message first when it was canceled before it started (a
     * queued turn), then status `canceled`, the stop reason, the partial answer and `turn.canceled`.
     * Idempotent: a retry writes nothing twice.
     */
    async cancelTurn({ turn, reason, startedAtMs }: CancelTurnInput): Promise<void> {
      const execution = activityInfo().workflowExecution;
      if (!execution) throw new Error('cancelTurn runs only inside a turn workflow');
      await beginTurn(deps.db, { ...turn, workflowId: execution.workflowId, runId: execution.runId });
      await cancelTurn(deps.db, {
        projectId: turn.projectId,
        conversationId: turn.conversationId,
        turnIndex: turn.turnIndex,
        reason,
        responseTimeMs: Math.max(0, Date.now() - startedAtMs),
      });
    },
  };
}
