import type { Request } from 'express';
import { findAgent } from '../../agents/store.js';
import { agentIdOfModel, UUID, type TurnKey } from '../../openai-compat/ids.js';
import type { ParsedTurn } from '../../openai-compat/requests.js';
import { submitCompatTurn, type CompatTurn } from '../../openai-compat/submit.js';
import type { AuthContext } from '../../tenancy/api-keys.js';
import type { GatewayDeps } from '../deps.js';
import { OpenAiError, invalidRequest } from './errors.js';

/** How long a non-streamed request waits for its turn: under the OpenAI SDK's default 10-minute timeout. */
export const OPENAI_WAIT_MS = 9.5 * 60_000;

/** The agent `model` names in the caller's project: 404 `model_not_found` otherwise (another project's too). */
export async function requireModel(deps: GatewayDeps, projectId: string, model: string) {
  const agentId = agentIdOfModel(model);
  const agent = agentId ? await findAgent(deps.db, projectId, agentId) : undefined;
  if (!agent || agent.isTemplate || agent.status === 'archived') {
    throw new OpenAiError(404, 'invalid_request_error', 'model_not_found', `The model '${model}' does not exist or you do not have access to it.`, 'model', false);
  }
  return agent;
}

/** `Idempotency-Key`: 1 to 200 characters, as on our own API. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key !== undefined && (key.length === 0 || key.length > 200)) throw invalidRequest('Idempotency-Key', 'the Idempotency-Key header must have 1 to 200 characters');
  return key;
}

/** Runs a parsed request as a turn of a new or continued conversation; sets `X-Conversation-Id`. */
export async function startTurn(deps: GatewayDeps, req: Request, auth: AuthContext, parsed: ParsedTurn, api: string): Promise<CompatTurn & TurnKey> {
  const agent = await requireModel(deps, auth.projectId, parsed.model);
  if (parsed.conversationId !== undefined && !UUID.test(parsed.conversationId)) {
    throw invalidRequest('metadata.conversation_id', 'the conversation id must be the X-Conversation-Id of an earlier response');
  }
  const idempotencyKey = idempotencyKeyOf(req);
  const turn = await submitCompatTurn(deps.db, deps.temporal, deps.settings.taskQueue, {
    projectId: auth.projectId,
    agentId: agent.id,
    history: parsed.history,
    content: parsed.content,
    overrides: parsed.overrides,
    api,
    ...(parsed.conversationId ? { conversationId: parsed.conversationId } : {}),
    ...(parsed.user ? { user: parsed.user } : {}),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  req.res?.setHeader('X-Conversation-Id', turn.conversationId);
  return turn;
}

/** An AbortSignal that fires when the client goes away or after `ms`. */
export function waitSignal(req: Request, ms: number): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => ((timedOut = true), controller.abort()), ms);
  const onClose = () => controller.abort();
  req.res?.on('close', onClose);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => (clearTimeout(timer), req.res?.off('close', onClose)),
  };
}

/** Why a turn did not answer, as an OpenAI error. */
export function turnEndError(status: string | undefined, error: string | null | undefined, hasKey: boolean): OpenAiError {
  if (status === 'canceled') return new OpenAiError(409, 'invalid_request_error', 'turn_canceled', 'the turn was canceled before it answered', null, false);
  if (status === 'failed') return new OpenAiError(500, 'server_error', 'turn_failed', `the turn failed: ${error ?? 'unknown error'}`, null, false);
  // Still running: with an Idempotency-Key a retry attaches to the same turn and waits again.
  return new OpenAiError(504, 'server_error', 'turn_timeout', 'the turn is still running; retry with the same Idempotency-Key to keep waiting', null, hasKey);
}
