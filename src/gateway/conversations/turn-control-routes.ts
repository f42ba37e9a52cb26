import { cancelTurnRequest } from '../../conversations/turn-control.js';
import * as s from '../../conversations/contracts.js';
import type { RouteContext } from '../deps.js';
import { defineRoute } from '../route.js';
import { turnView } from './views.js';

/** Control of a running turn: cancel it (Temporal cancellation down to its model and tool HTTP calls). */
export function registerTurnControlRoutes({ router, registry, deps }: RouteContext): void {
  defineRoute(router, registry, {
    method: 'post', path: '/v1/conversations/:id/turns/:index/cancel', tag: 'Conversations',
    summary: 'Cancel a running or queued turn: its model and tool calls are aborted, the row says canceled with the partial answer',
    permission: 'conversations:write', params: s.turnParams,
    responses: {
      202: { description: 'Cancellation requested; the turn as it is now (it turns canceled shortly)', schema: s.turnCanceledSchema },
      404: { description: 'No such conversation or turn in this project' },
      409: { description: 'turn_not_running: the turn completed, failed or was canceled already' },
    },
    handler: async ({ params, auth }) => {
      const row = await cancelTurnRequest(deps.db, deps.temporal, { projectId: auth.projectId, conversationId: params.id, turnIndex: params.index });
      return { status: 202, body: { turn: turnView(params.id, params.index, row) } };
    },
  });
}
