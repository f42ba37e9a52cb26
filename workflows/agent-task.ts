import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import { runAgentLoop } from './agent-loop.js';
import { withKnowledge } from './contracts/knowledge-prompt.js';
import { failureMessage, failureTypes, type AgentTaskInput, type AgentTaskResult } from './contracts/index.js';
import { llm, retrieval, store } from './proxies.js';

/**
 * A one-off run of an agent without a conversation (`POST /v1/agents/:id/tasks`): the same knowledge
 * retrieval and tool-calling loop as a turn. Cancelling the workflow marks the task canceled.
 */
export async function runAgentTask(p: AgentTaskInput): Promise<AgentTaskResult> {
  try {
    let plan = await store.startAgentTask(p.taskId);
    if (plan.knowledgeBases.length) plan = withKnowledge(plan, await retrieval.retrieveKnowledge({ agentId: p.agentId, query: p.input }));
    const loop = await runAgentLoop(plan, llm.callModel, { projectId: p.projectId, agentId: p.agentId });
    const result = { output: loop.answer.content, model: loop.answer.model, usage: loop.usage };
    await store.finishAgentTask({ taskId: p.taskId, status: 'completed', result, steps: loop.toolsUsed.map((t) => ({ ...t })) });
    return { output: loop.answer.content };
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => store.finishAgentTask({ taskId: p.taskId, status: 'canceled' }));
      throw err;
    }
    const reason = failureMessage(err);
    await store.finishAgentTask({ taskId: p.taskId, status: 'failed', error: reason });
    throw ApplicationFailure.create({ type: failureTypes.taskFailed, message: reason, nonRetryable: true });
  }
}
