import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { runAgentTask } from './agent-task.js';
import { agentTaskWorkflowId, searchAttributes, type EscalationInput, type EscalationSnapshot } from './contracts/index.js';
import { store } from './proxies.js';

const followUp = proxyActivities<Activities>({
  summary: 'create the follow-up task row',
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** Records one entry in the escalation's timeline (the workflow numbers the entries). */
export type RecordChange = (kind: string, actor: string, extra?: { note?: string; details?: Record<string, unknown>; assignedTo?: string | null }) => Promise<void>;

/**
 * Runs the rule's action once, at the start of the escalation. notify has nothing to do here (its
 * notifications go level by level); assign, pause_agent and execute_workflow each record what they did.
 */
export async function runEscalationAction(input: EscalationInput, snapshot: EscalationSnapshot, record: RecordChange): Promise<void> {
  switch (snapshot.action) {
    case 'notify':
      return;
    case 'assign': {
      const assignee = snapshot.target ?? snapshot.policy.levels[0]?.targets[0] ?? null;
      await record('assigned', 'system', { assignedTo: assignee, details: { assignedTo: assignee } });
      return;
    }
    case 'pause_agent': {
      const result = await store.pauseAgent.executeWithOptions({ summary: `pause agent ${input.agentId}` }, [{ agentId: input.agentId }]);
      await record('agent_paused', 'system', { note: result.paused ? 'agent paused' : `agent left ${result.status ?? 'missing'}`, details: { agentId: input.agentId } });
      return;
    }
    case 'execute_workflow': {
      const task = await followUp.createFollowUpTask({ eventId: input.eventId });
      const workflowId = agentTaskWorkflowId(task.taskId);
      try {
        await startChild(runAgentTask, {
          workflowId,
          args: [{ taskId: task.taskId, projectId: task.projectId, agentId: task.agentId, input: task.input }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [
            { key: searchAttributes.projectId, value: task.projectId },
            { key: searchAttributes.agentId, value: task.agentId },
          ],
          staticSummary: `Follow-up task of escalation ${input.eventId}`,
          staticDetails: `task ${task.taskId} · agent ${task.agentId} · project ${task.projectId}`,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      await record('workflow_started', 'system', { details: { taskId: task.taskId, workflowId } });
      return;
    }
  }
}
