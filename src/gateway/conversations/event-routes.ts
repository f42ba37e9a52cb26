import { WorkflowNotFoundError } from '@temporalio/client';
import type { Request } from 'express';
import * as conversations from '../../conversations/store.js';
import { findTurn, type TurnRow } from '../../conversations/message-store.js';
import { listTurns } from '../../conversations/turn-list.js';
import { listTurnEvents } from '../../conversations/turn-events.js';
import * as live from '../../conversations/live-contracts.js';
import { turnParams } from '../../conversations/contracts.js';
import { turnWorkflowId } from '../../../workflows/contracts/index.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { idParams, pageQuery } from '../common.js';
import type { GatewayDeps, RouteContext } from '../deps.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute, type Reply } from '../route.js';
import { streamTurnEvents, turnEventView } from './turn-stream.js';

/** True when the client asked for Server-Sent Events (`*` or JSON first still gets JSON). */
export function wantsEventStream(req: Request): boolean {
  return req.accepts(['application/json', 'text/event-stream']) === 'text/event-stream';
}

/** Where to resume: `Last-Event-ID` (what an SSE client sends on reconnect) over `?after=`, else the start. */
export function resumeAfter(req: Request, after: number | undefined): number {
  const header = req.get('last-event-id');
  if (header === undefined || header === '') return after ?? 0;
  const parsed = live.seqValue.safeParse(/^\d+$/.test(header.trim()) ? header.trim() : 'x');
  if (!parsed.success) {
    throw new ValidationError('invalid request: headers.last-event-id: the seq of an event (an integer from 0)', [
      { field: 'headers.last-event-id', message: 'the seq of an event (an integer from 0)' },
    ]);
  }
  return parsed.data;
}

/** A turn's row says it is over, or it has no row and no running workflow (it failed before writing one). */
export async function turnEnded(deps: GatewayDeps, conversationId: string, index: number): Promise<boolean> {
  const row = await findTurn(deps.db, conversationId, index);
  if (row) return row.status !== 'running';
  try {
    return (await deps.temporal.workflow.getHandle(turnWorkflowId(conversationId, index)).describe()).status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

/**
 * Takes a stream slot for the project (429 beyond the limits) and returns the reply that streams the turn.
 * Call it before any side effect, so a refused request changes nothing; `release` gives the slot back if the
 * reply is never sent.
 */
export function openTurnStream(deps: GatewayDeps, projectId: string) {
  const release = deps.streams.slots.acquire(projectId);
  return {
    release,
    reply: (conversationId: string, turnIndex: number, afterSeq: number): Reply => ({
      status: 200,
      stream: (res) =>
        streamTurnEvents(res, deps.db, deps.streams, deps.logger, {
          conversationId, turnIndex, afterSeq, release, turnEnded: () => turnEnded(deps, conversationId, turnIndex),
        }),
    }),
  };
}

function turnSummaryView(row: TurnRow): live.TurnSummary {
  return {
    index: row.messageIndex,
    status: row.status as live.TurnSummary['status'],
    workflowId: row.workflowId,
    model: row.model,
    stopReason: row.stopReason,
    error: row.error,
    usage: { promptTokens: row.promptTokens, completionTokens: row.completionTokens, totalTokens: row.totalTokens },
    toolCount: row.toolsUsed.length,
    escalated: row.escalated,
    startedAt: row.startedAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
    responseTimeMs: row.responseTimeMs,
    llmTimeMs: row.llmTimeMs,
  };
}

/** The event log of a turn (listed or streamed) and the turns list. */
export function registerTurnEventRoutes({ router, registry, deps }: RouteContext): void {
  const tag = 'Conversations';
  const load = async (projectId: string, id: string) => {
    const conv = await conversations.findConversation(deps.db, projectId, id);
    if (!conv) throw new NotFoundError('conversation');
    return conv;
  };

  defineRoute(router, registry, {
    method: 'get', path: '/v1/conversations/:id/turns/:index/events', tag,
    summary: "A turn's events: streamed as Server-Sent Events with Accept: text/event-stream, else listed",
    permission: 'conversations:read', params: turnParams, query: live.turnEventsQuery, headers: live.turnEventsHeaders,
    responses: {
      200: { description: 'Events after Last-Event-ID / after, oldest first; a stream ends after the terminal event', schema: live.turnEventPageSchema, eventStream: live.turnEventSchema },
      429: { description: 'too_many_streams: this gateway or project has as many open streams as allowed' },
    },
    handler: async ({ params, query, auth, req }) => {
      const conv = await load(auth.projectId, params.id);
      if (params.index > conv.lastTurnIndex) throw new NotFoundError('turn');
      const after = resumeAfter(req, query.after ?? (query.cursor === undefined ? undefined : Number(query.cursor)));
      if (wantsEventStream(req)) return openTurnStream(deps, auth.projectId).reply(conv.id, params.index, after);
      const rows = await listTurnEvents(deps.db, conv.id, params.index, after, query.limit + 1);
      const items = rows.slice(0, query.limit);
      const nextCursor = rows.length > query.limit ? String(items.at(-1)!.seq) : null;
      return { status: 200, body: { items: items.map(turnEventView), nextCursor } };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/conversations/:id/turns', tag, summary: "A conversation's turns, newest first: status, timings, tools and tokens",
    permission: 'conversations:read', params: idParams, query: pageQuery.merge(live.listTurnsQuery),
    description: 'A page of turns', item: live.turnSummarySchema, view: turnSummaryView,
    rows: async ({ params, query, auth }) => {
      const conv = await load(auth.projectId, params.id);
      return listTurns(deps.db, conv.id, { status: query.status }, { cursor: query.cursor, limit: query.limit });
    },
  });
}
