import type { DbOrTx } from '../db/client.js';
import type { TurnOverrides } from '../../workflows/contracts/index.js';
import { loadAgentWithActiveConfig } from '../agents/store.js';
import { renderPrompt } from '../agents/prompt-template.js';
import type { ChatMessage, ChatRequest } from '../llm/client.js';
import { resolveAgentSettings } from '../agents/settings.js';
import { loadAgentKnowledgeBases } from '../knowledge/store.js';
import { loadAgentTools } from '../tools/store.js';
import { escalateToHumanTool, setVariableTool, type TurnTool } from '../tools/turn-tools.js';
import { activeRules } from '../escalations/events/open-escalations.js';
import { loadModelHistory } from './model-history.js';
import { findConversationById } from './store.js';

/**
 * What the model sees for one turn: the agent's system prompt (or one made from its name and goal), the
 * newest `history_window` messages before this turn (with what canceled turns leave, see `loadModelHistory`),
 * and the user's message, with the agent's effective settings. Returns null when the agent no longer exists.
 */
export async function buildModelRequest(
  db: DbOrTx,
  /** Without a conversation (one-off tasks) there is no history. */
  p: { agentId: string; conversationId?: string; turnIndex: number; content: string; overrides?: TurnOverrides },
  defaultModel: string,
  /** Turns registered tools into what the model is offered (e.g. an MCP server into its tools). */
  expandTools: (tools: TurnTool[]) => Promise<TurnTool[]> = async (t) => t,
): Promise<{
  request: ChatRequest;
  tools: TurnTool[];
  maxSteps: number;
  knowledgeBases: string[];
  responseTimeBudgetMs?: number;
  /** The agent has active deviation rules: the turn evaluates them after answering. */
  deviationRules: boolean;
} | null> {
  const context = await loadAgentWithActiveConfig(db, p.agentId);
  if (!context) return null;
  const { agent } = context;
  const settings = resolveAgentSettings(agent, context.config, defaultModel);
  // Independent reads (and the MCP expansion) at once rather than one after another: startTurn's database
  // time sits on every turn's critical path (bench/PROFILE.md).
  const [history, conv, registered, rules, knowledgeBases] = await Promise.all([
    p.conversationId ? loadModelHistory(db, p.conversationId, p.turnIndex, settings.historyWindow) : [],
    p.conversationId ? findConversationById(db, p.conversationId) : undefined,
    loadAgentTools(db, agent.id).then(expandTools),
    p.conversationId ? activeRules(db, agent.id, 'deviation') : [],
    loadAgentKnowledgeBases(db, agent.id),
  ]);
  const rendered = await renderPrompt(agent.systemPrompt.trim() || `You are ${agent.name}. Your goal: ${agent.goal}`, {
    agent,
    conversation: conv ?? null,
  });
  // A client's instructions come after the agent's and never replace them (not rendered: client text is no template).
  const system = p.overrides?.instructions ? `${rendered}\n\n${p.overrides.instructions}` : rendered;
  const messages: ChatMessage[] = [
    { role: 'system', content: system },
    ...history.map((m): ChatMessage => ({ role: m.role, content: m.content })),
    { role: 'user', content: p.content },
  ];
  const deviation = conv ? rules : [];
  const offerEscalation = deviation.some((r) => (r.triggerCondition as { escalateTool?: boolean }).escalateTool === true);
  const tools = [...registered, ...(conv && settings.variablesTool ? [setVariableTool] : []), ...(offerEscalation ? [escalateToHumanTool] : [])];
  const request: ChatRequest = {
    model: settings.model,
    messages,
    temperature: p.overrides?.temperature ?? settings.temperature,
    maxTokens: p.overrides?.maxTokens ?? settings.maxTokens,
    ...(tools.length ? { tools: tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters })) } : {}),
  };
  return {
    request,
    tools,
    maxSteps: settings.maxSteps,
    knowledgeBases,
    deviationRules: deviation.length > 0,
    ...(settings.responseTimeBudgetMs ? { responseTimeBudgetMs: settings.responseTimeBudgetMs } : {}),
  };
}
