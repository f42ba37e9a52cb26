import type { DbOrTx } from '../db/client.js';
import type { ChatMessage, ChatRequest } from '../llm/client.js';
import { resolveAgentSettings } from './agent-settings.js';
import { loadHistory, loadTurnContext } from './turn-store.js';

/**
 * What the model sees for one turn: the agent's system prompt (or one made from its name and goal), the
 * newest `history_window` messages before this turn, and the user's message, with the agent's effective
 * settings. Returns null when the agent no longer exists.
 */
export async function buildModelRequest(
  db: DbOrTx,
  p: { agentId: string; conversationId: string; turnIndex: number; content: string },
  defaultModel: string,
): Promise<ChatRequest | null> {
  const context = await loadTurnContext(db, p);
  if (!context) return null;
  const { agent } = context;
  const settings = resolveAgentSettings(agent, context.config, defaultModel);
  const history = await loadHistory(db, p.conversationId, p.turnIndex, settings.historyWindow);
  const system = agent.systemPrompt.trim() || `You are ${agent.name}. Your goal: ${agent.goal}`;
  const messages: ChatMessage[] = [
    { role: 'system', content: system },
    ...history.map((m) => ({ role: m.role as ChatMessage['role'], content: m.content })),
    { role: 'user', content: p.content },
  ];
  return { model: settings.model, messages, temperature: settings.temperature, maxTokens: settings.maxTokens };
}
