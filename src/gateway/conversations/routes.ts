import { WorkflowFailedError } from '@temporalio/client';
import { conversation } from '../../db/schema/index.js';
import * as agents from '../../agents/store.js';
import * as conversations from '../../conversations/store.js';
import { renderPrompt } from '../../agents/prompt-template.js';
import { idParams, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { GatewayDeps, RouteContext } from '../deps.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import * as s from '../../conversations/contracts.js';
import { startSession } from '../../conversations/session-start.js';
import { submitTurn } from '../../conversations/submit-turn.js';
import { conversationView, messageView, turnView } from './views.js';

export function registerConversationRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Conversations';
  const load = async (projectId: string, id: string) => {
    const conv = await conversations.findConversation(db, projectId, id);
    if (!conv) throw new NotFoundError('conversation');
    return conv;
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations', tag, summary: 'Start a conversation with an agent',
    permission: 'conversations:write', body: s.createConversationBody,
    responses: { 201: { description: 'Created', schema: s.conversationSchema }, 409: { description: 'Agent not active' } },
    handler: async ({ body, auth }) => {
      const agent = await agents.findAgent(db, auth.projectId, body.agentId);
      if (!agent) throw new NotFoundError('agent');
      if (agent.status !== 'active') {
        throw new ConflictError(agent.status === 'paused' ? 'agent_paused' : 'agent_not_active', `the agent is ${agent.status}`);
      }
      const row = await db.transaction(async (tx) => {
        const conv = await conversations.createConversation(tx, { ...body, projectId: auth.projectId });
        const first = agent.firstMessage?.trim()
          ? await renderPrompt(agent.firstMessage, { agent, conversation: conv })
          : null;
        const withFirst = first ? await conversations.addFirstMessage(tx, conv.id, first) : conv;
        // Started before the commit: if the commit fails, the session finds no conversation and ends.
        await startSession(deps, { projectId: auth.projectId, conversationId: conv.id, agentId: agent.id });
        return withFirst;
      });
      return { status: 201, body: conversationView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations', tag, summary: 'List conversations', permission: 'conversations:read',
    query: pageQuery.merge(s.listConversationsQuery),
    responses: { 200: { description: 'A page of conversations', schema: pageSchema(s.conversationSchema) } },
    handler: async ({ query, auth }) => {
      const rows = await conversations.listConversations(db, auth.projectId, query, {
        ...keyset(conversation, query.cursor),
        limit: query.limit,
      });
      return { status: 200, body: toPage(rows, query.limit, conversationView) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id', tag, summary: 'Get a conversation', permission: 'conversations:read',
    params: idParams, responses: { 200: { description: 'The conversation', schema: s.conversationSchema } },
    handler: async ({ params, auth }) => ({ status: 200, body: conversationView(await load(auth.projectId, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/conversations/:id', tag, summary: 'Pause or resume a conversation, change its title, context or variables',
    permission: 'conversations:write', params: idParams, body: s.updateConversationBody,
    responses: { 200: { description: 'The conversation', schema: s.conversationSchema }, 409: { description: 'Conversation ended' } },
    handler: async ({ params, body, auth }) => {
      const conv = await load(auth.projectId, params.id);
      if (!['active', 'paused'].includes(conv.status)) throw new ConflictError('conversation_ended', `the conversation is ${conv.status}`);
      return { status: 200, body: conversationView(await conversations.updateConversation(db, conv, body)) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations/:id/end', tag, summary: 'End a conversation (no more turns)',
    permission: 'conversations:write', params: idParams,
    responses: { 200: { description: 'The ended conversation', schema: s.conversationSchema } },
    handler: async ({ params, auth }) => {
      await load(auth.projectId, params.id);
      return { status: 200, body: conversationView(await conversations.endConversation(db, params.id)) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations/:id/messages', tag, summary: 'Send a message: runs one turn as a workflow',
    permission: 'conversations:write', params: idParams, body: s.sendMessageBody, headers: s.idempotencyHeaders,
    responses: {
      200: { description: 'The answer and the turn record', schema: s.turnReplySchema },
      202: { description: 'Still running; poll the URL', schema: s.turnAcceptedSchema },
      409: { description: 'turn_in_progress, conversation_ended, agent_paused or agent_not_active' },
      422: { description: 'Idempotency-Key reused for a different message' },
      502: { description: 'The model failed; the turn is recorded as failed' },
    },
    handler: async ({ params, body, auth, req }) => {
      const key = req.get('idempotency-key');
      if (key !== undefined && (key.length === 0 || key.length > 200)) {
        throw new ValidationError('invalid request: headers.idempotency-key: 1 to 200 characters', [
          { field: 'headers.idempotency-key', message: '1 to 200 characters' },
        ]);
      }
      const turn = await submitTurn(db, deps.temporal, deps.settings.taskQueue, {
        projectId: auth.projectId, conversationId: params.id, content: body.content, idempotencyKey: key,
      });
      return awaitTurnReply(deps, params.id, turn.turnIndex, turn.workflowId);
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/messages', tag, summary: 'Messages in conversation order',
    permission: 'conversations:read', params: idParams, query: pageQuery,
    responses: { 200: { description: 'A page of messages', schema: pageSchema(s.messageSchema) } },
    handler: async ({ params, query, auth }) => {
      await load(auth.projectId, params.id);
      const after = query.cursor ? decodeMessageCursor(query.cursor) : undefined;
      const rows = await conversations.listMessages(db, params.id, after, query.limit);
      const more = rows.length > query.limit;
      const items = more ? rows.slice(0, query.limit) : rows;
      const last = items[items.length - 1];
      const nextCursor = more && last ? Buffer.from(JSON.stringify([last.turnIndex, last.position])).toString('base64url') : null;
      return { status: 200, body: { items: items.map(messageView), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/artifacts', tag, summary: 'Artifacts kept from tool results and model output',
    permission: 'conversations:read', params: idParams,
    responses: { 200: { description: 'Artifacts, oldest first' } },
    handler: async ({ params, auth }) => {
      await load(auth.projectId, params.id);
      return { status: 200, body: { items: (await conversations.listArtifacts(db, params.id)).map(toIso), nextCursor: null } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/turns/:index', tag, summary: 'One turn: status, workflow, timings, usage',
    permission: 'conversations:read', params: s.turnParams,
    responses: { 200: { description: 'The turn', schema: s.turnSchema } },
    handler: async ({ params, auth }) => {
      const conv = await load(auth.projectId, params.id);
      if (params.index > conv.lastTurnIndex) throw new NotFoundError('turn');
      return { status: 200, body: turnView(conv.id, params.index, await conversations.findTurn(db, conv.id, params.index)) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations/:id/turns/:index/feedback', tag, summary: 'Rate a completed turn',
    permission: 'conversations:write', params: s.turnParams, body: s.feedbackBody,
    responses: { 200: { description: 'The turn with its feedback', schema: s.turnSchema }, 409: { description: 'Turn not completed' } },
    handler: async ({ params, body, auth }) => {
      const conv = await load(auth.projectId, params.id);
      const row = await conversations.findTurn(db, conv.id, params.index);
      if (!row) throw new NotFoundError('turn');
      if (row.status !== 'completed') throw new ConflictError('turn_not_completed', `the turn is ${row.status}`);
      const updated = await conversations.recordFeedback(db, row.id, body.satisfaction, body.text);
      return { status: 200, body: turnView(conv.id, params.index, updated) };
    },
  });
}

const isInt32 = (v: unknown) => Number.isInteger(v) && (v as number) >= -(2 ** 31) && (v as number) < 2 ** 31;

function decodeMessageCursor(cursor: string): [number, number] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    // Turn index and position are Postgres integers: a larger number would be refused there, as a 500.
    if (Array.isArray(value) && value.length === 2 && value.every(isInt32)) return value as [number, number];
  } catch {
    // fall through to the validation error
  }
  throw new ValidationError('invalid request: query.cursor: not a cursor returned by this API', [
    { field: 'query.cursor', message: 'not a cursor returned by this API' },
  ]);
}

/** Waits for the turn up to the configured time: 200 with the answer, 202 with a poll URL, 502 on failure. */
async function awaitTurnReply(deps: GatewayDeps, conversationId: string, index: number, workflowId: string) {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), deps.settings.turnWaitMs);
  let outcome: 'done' | 'failed' | 'pending' = 'pending';
  try {
    await deps.temporal.withAbortSignal(controller.signal, () => handle.result());
    outcome = 'done';
  } catch (err) {
    if (err instanceof WorkflowFailedError) outcome = 'failed';
    else if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  const row = await conversations.findTurn(deps.db, conversationId, index);
  const turn = turnView(conversationId, index, row);
  const pollUrl = `/v1/conversations/${conversationId}/turns/${index}`;
  if (outcome === 'pending') return { status: 202, body: { turn, pollUrl }, headers: { Location: pollUrl } };
  if (outcome === 'failed') throw new AppError(502, 'turn_failed', `the turn failed: ${turn.error ?? 'unknown error'}`, { turn });
  const message = await conversations.findAssistantMessage(deps.db, conversationId, index);
  return { status: 200, body: { turn, message: message ? messageView(message) : null } };
}
