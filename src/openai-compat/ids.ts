// Ids the OpenAI-compatible API hands out. A completion or response id names exactly one turn: it encodes the
// conversation and the turn index, so nothing is stored for it, and every read checks the conversation's
// project (another project's id is a 404 like an unknown one).

const MODEL_PREFIX = 'agent-';
/** A UUID in its canonical text form, either case (agent and conversation ids). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The model id an agent is listed under. */
export const modelId = (agentId: string) => `${MODEL_PREFIX}${agentId}`;

/** The agent a `model` names: `agent-<id>` or the bare agent id; undefined for anything else. */
export function agentIdOfModel(model: string): string | undefined {
  const id = model.startsWith(MODEL_PREFIX) ? model.slice(MODEL_PREFIX.length) : model;
  return UUID.test(id) ? id.toLowerCase() : undefined;
}

export interface TurnKey {
  conversationId: string;
  turnIndex: number;
}

const compact = (uuid: string) => uuid.replace(/-/g, '');
const expand = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

/** `resp_<conversation hex><turn index hex>` (the Responses API) or `chatcmpl-…` (chat completions). */
export function turnId(kind: 'resp_' | 'chatcmpl-', t: TurnKey): string {
  return `${kind}${compact(t.conversationId)}${t.turnIndex.toString(16)}`;
}

/** The turn an id of {@link turnId} names; undefined for an id this API did not make. */
export function parseTurnId(kind: 'resp_' | 'chatcmpl-', id: string): TurnKey | undefined {
  const match = new RegExp(`^${kind}([0-9a-f]{32})([0-9a-f]{1,7})$`).exec(id);
  if (!match) return undefined;
  return { conversationId: expand(match[1]!), turnIndex: parseInt(match[2]!, 16) };
}

/** Item ids inside a response (its one message). */
export const messageItemId = (t: TurnKey) => `msg_${compact(t.conversationId)}${t.turnIndex.toString(16)}`;
