import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { agentExecutionHistory } from '../../db/schema/index.js';
import type { EscalationInput, FiredTrigger } from '../../../workflows/contracts/index.js';
import { activeRules, openEscalations } from '../events/open-escalations.js';
import { compileTenantRegex, keywordRegex, MAX_MATCHED_CHARS, tenantRegexFinds } from '../../tenant-expressions/regex.js';
import { deviationCondition, type DeviationCondition } from '../contracts/rule-fields.js';

/** What a finished turn tells the deviation rules. */
export interface TurnFacts {
  conversationId: string;
  agentId: string;
  turnIndex: number;
  userMessage: string;
  toolFailures: number;
  /** Reasons the model gave when it called the built-in `escalate_to_human` tool. */
  escalateToolReasons: string[];
  responseTimeMs: number;
}

/** Phrases of a person asking for a human. Deliberately narrow: a false page at 3 a.m. costs trust. */
const ASK_HUMAN =
  /\b(?:(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s*one|some\s*body|your\s+)?(?:human|real\s+person|person|agent|representative|manager|operator|someone|somebody)|human\s+(?:agent|being|please)|real\s+(?:person|human)|live\s+(?:agent|person|support)|customer\s+service\s+representative)\b/i;

/**
 * A rule's regex and keywords run on RE2 (linear time, see `tenant-expressions/regex.ts`). A pattern saved
 * before RE2 was required and that RE2 refuses (a backreference, a lookaround) never matches.
 */
function regexMatches(pattern: string, text: string): boolean {
  try {
    return tenantRegexFinds(compileTenantRegex(pattern, { ignoreCase: true }), text);
  } catch {
    return false;
  }
}

/** Every condition of one rule that holds for the turn, in words; empty when the rule does not fire. */
export function deviationReasons(condition: DeviationCondition, facts: TurnFacts): string[] {
  const reasons: string[] = [];
  const matched = (condition.keywords ?? []).filter((k) => tenantRegexFinds(keywordRegex(k), facts.userMessage));
  if (matched.length) reasons.push(`message mentions ${matched.map((k) => `"${k}"`).join(', ')}`);
  if (condition.regex && regexMatches(condition.regex, facts.userMessage)) reasons.push(`message matches /${condition.regex}/`);
  if (condition.askHuman && ASK_HUMAN.test(facts.userMessage.slice(0, MAX_MATCHED_CHARS))) reasons.push('the user asked for a human');
  if (condition.escalateTool && facts.escalateToolReasons.length) {
    reasons.push(`the agent escalated: ${facts.escalateToolReasons.join('; ')}`.slice(0, 1000));
  }
  if (condition.toolFailure && facts.toolFailures > 0) reasons.push(`${facts.toolFailures} tool call(s) failed`);
  const turnCount = facts.turnIndex + 1;
  if (condition.turnCountAbove !== undefined && turnCount > condition.turnCountAbove) {
    reasons.push(`the conversation reached ${turnCount} turns (limit ${condition.turnCountAbove})`);
  }
  if (condition.responseTimeAboveMs !== undefined && facts.responseTimeMs > condition.responseTimeAboveMs) {
    reasons.push(`the turn took ${facts.responseTimeMs} ms (limit ${condition.responseTimeAboveMs} ms)`);
  }
  return reasons;
}

/**
 * A stored rule's condition. A regex saved before RE2 was required and that RE2 refuses no longer passes
 * the schema; the rule keeps its other conditions (the regex alone never matches) instead of going silent.
 */
export function storedDeviationCondition(raw: unknown): DeviationCondition | null {
  const parsed = deviationCondition.safeParse(raw);
  if (parsed.success) return parsed.data;
  if (raw === null || typeof raw !== 'object' || !('regex' in raw)) return null;
  const withoutRegex = deviationCondition.safeParse({ ...raw, regex: undefined });
  return withoutRegex.success ? withoutRegex.data : null;
}

const priorityOrder: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * Evaluates the agent's active deviation rules against a finished turn, marks the turn row escalated
 * (the most urgent rule, its target and reason) and opens one event per firing rule. Idempotent: events
 * are keyed on (rule, conversation, turn).
 */
export async function escalateTurn(db: DbOrTx, facts: TurnFacts): Promise<EscalationInput[]> {
  const rules = (await activeRules(db, facts.agentId, 'deviation')).sort((a, b) => (priorityOrder[a.priority] ?? 9) - (priorityOrder[b.priority] ?? 9));
  const fired: FiredTrigger[] = [];
  const firing: { ruleId: string; target: string | null; reason: string }[] = [];
  for (const rule of rules) {
    const condition = storedDeviationCondition(rule.triggerCondition);
    if (!condition) continue;
    const reasons = deviationReasons(condition, facts);
    if (reasons.length === 0) continue;
    const reason = reasons.join('; ');
    firing.push({ ruleId: rule.id, target: rule.escalationTarget, reason });
    fired.push({
      ruleId: rule.id,
      dedupeKey: `deviation:${rule.id}:${facts.conversationId}:${facts.turnIndex}`,
      conversationId: facts.conversationId,
      eventType: 'deviation',
      reason,
      triggerData: { turnIndex: facts.turnIndex, userMessage: facts.userMessage.slice(0, 2000), reasons, responseTimeMs: facts.responseTimeMs },
    });
  }
  if (firing.length === 0) return [];
  const first = firing[0]!;
  await db
    .update(agentExecutionHistory)
    .set({ escalated: true, escalationRuleId: first.ruleId, escalationTarget: first.target, escalationReason: firing.map((f) => f.reason).join(' | ').slice(0, 4000) })
    .where(and(eq(agentExecutionHistory.conversationId, facts.conversationId), eq(agentExecutionHistory.messageIndex, facts.turnIndex)));
  return openEscalations(db, fired);
}
