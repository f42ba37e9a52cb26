import type { Request, Response } from 'express';
import { findTurn, type TurnRow } from '../../conversations/message-store.js';
import { findConversation } from '../../conversations/store.js';
import { cancelTurnRequest } from '../../conversations/turn-control.js';
import { parseTurnId, turnId, type TurnKey } from '../../openai-compat/ids.js';
import { createResponseBody, parseResponseRequest, responseObject, type ResponseHead } from '../../openai-compat/responses.js';
import type { GatewayDeps } from '../deps.js';
import { parseRequestPart } from '../route.js';
import { authOf } from './auth.js';
import { OpenAiError, invalidRequest } from './errors.js';
import { streamResponse } from './response-stream.js';
import { awaitTurnEnd } from './turn-follow.js';
import { OPENAI_WAIT_MS, startTurn, waitSignal } from './turn-request.js';

const notFound = (param: string, id: string) =>
  new OpenAiError(404, 'invalid_request_error', 'response_not_found', `Response with id '${id}' not found.`, param, false);

/** The turn a response id names, in the caller's project (another project's id is a 404 like an unknown one). */
async function responseTurn(deps: GatewayDeps, projectId: string, id: string, param: string) {
  const key = parseTurnId('resp_', id);
  const conv = key ? await findConversation(deps.db, projectId, key.conversationId) : undefined;
  if (!key || !conv || key.turnIndex < 1 || key.turnIndex > conv.lastTurnIndex) throw notFound(param, id);
  return { key, conv };
}

const headOf = (key: TurnKey, model: string, row: TurnRow | undefined, background: boolean, previous: string | null = null): ResponseHead => ({
  ...key,
  model,
  createdAt: Math.floor((row?.startedAt ?? new Date()).getTime() / 1000),
  previousResponseId: previous ?? (key.turnIndex > 1 ? turnId('resp_', { ...key, turnIndex: key.turnIndex - 1 }) : null),
  background,
});

/** `POST /v1/responses`: waits for the turn, streams it, or (background) answers at once. */
export function createResponseHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response) => {
    const auth = authOf(req);
    const body = parseRequestPart(createResponseBody, req.body, 'body');
    const parsed = parseResponseRequest(body, req.get('x-conversation-id'));
    if (body.previous_response_id) {
      const { key } = await responseTurn(deps, auth.projectId, body.previous_response_id, 'previous_response_id');
      parsed.conversationId = key.conversationId;
    }
    if (parsed.background && parsed.stream) throw invalidRequest('background', 'background and stream cannot be combined here; poll GET /v1/responses/{id}');
    // Streamed or waiting, the request follows the turn's log for minutes: it takes a slot like a stream.
    const release = parsed.background ? undefined : deps.streams.slots.acquire(auth.projectId);
    try {
      const turn = await startTurn(deps, req, auth, parsed, 'responses');
      const head = headOf(turn, parsed.model, undefined, parsed.background, body.previous_response_id ?? null);
      if (parsed.background) {
        res.json(responseObject(head, await findTurn(deps.db, turn.conversationId, turn.turnIndex)));
        return;
      }
      if (parsed.stream) return await streamResponse(deps, req, res, head);
      const wait = waitSignal(req, OPENAI_WAIT_MS);
      const row = await awaitTurnEnd(deps, turn, wait.signal).finally(wait.done);
      if (!res.destroyed) res.json(responseObject(head, row));
    } finally {
      release?.();
    }
  };
}

/** `GET /v1/responses/:id`: the turn as a response, as it is now (poll a background response with it). */
export function retrieveResponseHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response) => {
    const { key, conv } = await responseTurn(deps, authOf(req).projectId, String(req.params.id), 'response_id');
    const row = await findTurn(deps.db, key.conversationId, key.turnIndex);
    res.json(responseObject(headOf(key, `agent-${conv.agentId}`, row, true), row));
  };
}

/** `POST /v1/responses/:id/cancel`: cancels the turn through the cancel route's machinery. */
export function cancelResponseHandler(deps: GatewayDeps) {
  return async (req: Request, res: Response) => {
    const auth = authOf(req);
    const { key, conv } = await responseTurn(deps, auth.projectId, String(req.params.id), 'response_id');
    await cancelTurnRequest(deps.db, deps.temporal, { projectId: auth.projectId, ...key });
    // The workflow marks the row canceled shortly; the answer says cancelled as OpenAI's does.
    const wait = waitSignal(req, 10_000);
    const row = await awaitTurnEnd(deps, key, wait.signal).finally(wait.done);
    res.json(responseObject(headOf(key, `agent-${conv.agentId}`, row, true), row, row?.status === 'completed' ? undefined : 'cancelled'));
  };
}
