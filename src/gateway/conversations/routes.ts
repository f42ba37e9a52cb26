import * as conversations from '../../conversations/store.js';
import * as messages from '../../conversations/message-store.js';
import { startConversation } from '../../conversations/start-conversation.js';
import { submitTurn } from '../../conversations/submit-turn.js';
import * as s from '../../conversations/contracts.js';
import { idParams, pageQuery, pageSchema } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { awaitTurnReply } from './turn-reply.js';
import { openTurnStream, resumeAfter, wantsEventStream } from './event-routes.js';
import { turnEventSchema } from '../../conversations/live-contracts.js';
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
      const row = await startConversation(db, deps.temporal, deps.settings.taskQueue, auth.projectId, body);
      return { status: 201, body: conversationView(row) };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/conversations', tag, summary: 'List conversations', permission: 'conversations:read',
    query: pageQuery.merge(s.listConversationsQuery),
    description: 'A page of conversations', item: s.conversationSchema, view: conversationView,
    rows: ({ query, auth }) => conversations.listConversations(db, auth.projectId, query, { cursor: query.cursor, limit: query.limit }),
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
      200: { description: 'The answer and the turn record; with Accept: text/event-stream, the turn\'s events as they happen', schema: s.turnReplySchema, eventStream: turnEventSchema },
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
      // A stream's slot is taken first: a 429 must not leave a turn running that nobody asked to watch.
      const stream = wantsEventStream(req) ? openTurnStream(deps, auth.projectId) : undefined;
      const after = stream ? resumeAfter(req, undefined) : 0;
      const turn = await submitTurn(db, deps.temporal, deps.settings.taskQueue, {
        projectId: auth.projectId, conversationId: params.id, content: body.content, idempotencyKey: key,
      }).catch((err: unknown) => {
        stream?.release();
        throw err;
      });
      if (stream) return stream.reply(params.id, turn.turnIndex, after);
      return awaitTurnReply(deps, params.id, turn.turnIndex);
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/messages', tag, summary: 'Messages in conversation order',
    permission: 'conversations:read', params: idParams, query: pageQuery,
    responses: { 200: { description: 'A page of messages', schema: pageSchema(s.messageSchema) } },
    handler: async ({ params, query, auth }) => {
      await load(auth.projectId, params.id);
      const rows = await messages.listMessages(db, params.id, query);
      const more = rows.length > query.limit;
      const items = more ? rows.slice(0, query.limit) : rows;
      const last = items[items.length - 1];
      const nextCursor = more && last ? messages.messageCursor(last) : null;
      return { status: 200, body: { items: items.map(messageView), nextCursor } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/artifacts', tag, summary: 'Artifacts kept from tool results and model output',
    permission: 'conversations:read', params: idParams,
    responses: { 200: { description: 'Artifacts, oldest first' } },
    handler: async ({ params, auth }) => {
      await load(auth.projectId, params.id);
      return { status: 200, body: { items: (await messages.listArtifacts(db, params.id)).map(toIso), nextCursor: null } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/turns/:index', tag, summary: 'One turn: status, workflow, timings, usage',
    permission: 'conversations:read', params: s.turnParams,
    responses: { 200: { description: 'The turn', schema: s.turnSchema } },
    handler: async ({ params, auth }) => {
      const conv = await load(auth.projectId, params.id);
      if (params.index > conv.lastTurnIndex) throw new NotFoundError('turn');
      return { status: 200, body: turnView(conv.id, params.index, await messages.findTurn(db, conv.id, params.index)) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations/:id/turns/:index/feedback', tag, summary: 'Rate a completed turn',
    permission: 'conversations:write', params: s.turnParams, body: s.feedbackBody,
    responses: { 200: { description: 'The turn with its feedback', schema: s.turnSchema }, 409: { description: 'Turn not completed' } },
    handler: async ({ params, body, auth }) => {
      const conv = await load(auth.projectId, params.id);
      const row = await messages.findTurn(db, conv.id, params.index);
      if (!row) throw new NotFoundError('turn');
      if (row.status !== 'completed') throw new ConflictError('turn_not_completed', `the turn is ${row.status}`);
      const updated = await messages.recordFeedback(db, row.id, body.satisfaction, body.text);
      return { status: 200, body: turnView(conv.id, params.index, updated) };
    },
  });
}
