import { setLastTurnIndex } from '../../src/conversations/store';
import { appendTurnEvents, type NewTurnEvent } from '../../src/conversations/turn-events';
import { apiClient } from './http';
import { testProject } from './stack';
import type { DbHandle } from '../../src/db/client';

/**
 * A conversation of a fresh project whose turn 1 has been handed out but runs no workflow, so the test writes
 * that turn's event log itself (`append`, as the worker's activities do) and watches what gateways serve.
 */
export async function turnWithLog(db: DbHandle, baseUrl: string) {
  const project = await testProject(db);
  const api = apiClient(baseUrl, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
  const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
  await setLastTurnIndex(db.db, conv.id, 1, false);
  let n = 0;
  const append = (...events: Array<Omit<NewTurnEvent, 'key'>>) =>
    appendTurnEvents(db.db, { projectId: project.projectId, conversationId: conv.id, turnIndex: 1 }, events.map((e) => ({ ...e, key: `k${++n}` })));
  const auth = { authorization: `Bearer ${project.adminKey}` };
  return { project, api, conv: conv as { id: string }, append, auth, eventsPath: `/v1/conversations/${conv.id}/turns/1/events` };
}

export const delta = (text: string) => ({ type: 'message.delta' as const, data: { text } });
