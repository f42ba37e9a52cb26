import { describe, expect, it } from 'vitest';
import { deviationReasons, type TurnFacts } from '../../src/escalations/rules/deviation-checks';
import { checkRule, defaultPolicy, deviationCondition, policySchema } from '../../src/escalations/contracts/rule-fields';
import { nextDeadline } from '../../workflows/escalation-timers';
import type { EscalationState } from '../../workflows/contracts/index';
import { callInChild } from '../support/call-in-child';

const facts = (over: Partial<TurnFacts> = {}): TurnFacts => ({
  conversationId: 'c', agentId: 'a', turnIndex: 0, userMessage: 'hello', toolFailures: 0, escalateToolReasons: [], responseTimeMs: 100, ...over,
});
const reasons = (condition: Record<string, unknown>, over: Partial<TurnFacts> = {}) => deviationReasons(deviationCondition.parse(condition), facts(over));

describe('deviation conditions', () => {
  it('keywords match whole words, case-insensitively, in any script', () => {
    expect(reasons({ keywords: ['refund'] }, { userMessage: 'I want a REFUND!' })).toEqual(['message mentions "refund"']);
    expect(reasons({ keywords: ['refund'] }, { userMessage: 'refunded already' })).toEqual([]);
    expect(reasons({ keywords: ['возврат', 'c++'] }, { userMessage: 'Нужен возврат денег, c++ bug' })).toEqual(['message mentions "возврат", "c++"']);
  });

  it('a regex matches', () => {
    expect(reasons({ regex: 'order\\s+#?\\d{3,}' }, { userMessage: 'where is Order #12345' })).toEqual(['message matches /order\\s+#?\\d{3,}/']);
  });

  it('a catastrophic regex gets the exact answer: it neither stalls (backtracking) nor is cut off early and misses', async () => {
    // A backtracking engine tries 2^40 ways to split the a's before it looks for "!b": hours of one core.
    // A deadline around it would answer "no match" for the second text. RE2 answers both exactly. In a
    // child, so a backtracking engine fails this test at the deadline instead of freezing the test run.
    const catastrophic = deviationCondition.parse({ regex: '^(a+)+$|!b' });
    const answers = await Promise.all(
      ['a'.repeat(40) + '!', 'a'.repeat(40) + '!b'].map((userMessage) => callInChild('src/escalations/rules/deviation-checks.ts', 'deviationReasons', [catastrophic, facts({ userMessage })])),
    );
    expect(answers).toEqual([[], ['message matches /^(a+)+$|!b/']]);
  }, 150_000);

  it('asking for a human is recognised without firing on ordinary messages', () => {
    for (const m of ['Can I talk to a human?', 'I want to speak with a real person', 'live agent please', 'let me chat with your manager']) {
      expect(reasons({ askHuman: true }, { userMessage: m }), m).toEqual(['the user asked for a human']);
    }
    for (const m of ['Humans are great', 'my agent number is 5', 'what a person would say']) {
      expect(reasons({ askHuman: true }, { userMessage: m }), m).toEqual([]);
    }
  });

  it('tool failures, the escalate tool, turn count and response time each fire with their reason', () => {
    expect(reasons({ toolFailure: true }, { toolFailures: 2 })).toEqual(['2 tool call(s) failed']);
    expect(reasons({ toolFailure: true })).toEqual([]);
    expect(reasons({ escalateTool: true }, { escalateToolReasons: ['angry'] })).toEqual(['the agent escalated: angry']);
    expect(reasons({ turnCountAbove: 3 }, { turnIndex: 2 })).toEqual([]);
    expect(reasons({ turnCountAbove: 3 }, { turnIndex: 3 })).toEqual(['the conversation reached 4 turns (limit 3)']);
    expect(reasons({ responseTimeAboveMs: 500 }, { responseTimeMs: 800 })).toEqual(['the turn took 800 ms (limit 500 ms)']);
    expect(reasons({ keywords: ['refund'], toolFailure: true }, { userMessage: 'refund', toolFailures: 1 })).toHaveLength(2);
  });

  it('a rule needs a condition that fits its type and its action', () => {
    expect(deviationCondition.safeParse({}).success).toBe(false);
    expect(deviationCondition.safeParse({ regex: '(' }).success).toBe(false);
    const base = { escalationAction: 'notify', escalationTarget: null, actionConfig: null, policy: defaultPolicy } as const;
    expect(checkRule({ ...base, ruleType: 'deviation', triggerCondition: { keywords: ['x'] } })).toMatchObject({
      ok: false, issues: [{ path: ['escalationTarget'] }],
    });
    const threshold = checkRule({ ...base, escalationTarget: 'u', ruleType: 'threshold', triggerCondition: { metric: 'turn_errors', threshold: 3, windowSeconds: 60 } });
    expect(threshold).toEqual({ ok: true, condition: { metric: 'turn_errors', operator: 'gt', threshold: 3, windowSeconds: 60, intervalSeconds: 60, cooldownSeconds: 900, minSamples: 1 } });
    const badCron = checkRule({ ...base, escalationTarget: 'u', ruleType: 'scheduled', triggerCondition: { schedule: { cron: 'every day', timezone: 'Mars/Base' }, condition: { type: 'always' } } });
    expect(badCron.ok).toBe(false);
  });
});

describe('escalation timers', () => {
  const state = (over: Partial<EscalationState> = {}): EscalationState => ({ eventId: 'e', status: 'pending', level: 0, pass: 0, snoozedUntil: null, exhausted: false, ...over });
  const policy = policySchema.parse({
    levels: [{ targets: ['00000000-0000-4000-8000-000000000001'], channels: ['in_app'], ackTimeoutSeconds: 60 }],
    retriggerAfterSeconds: 600,
  });
  const clock = { levelStartedMs: 1_000_000, acknowledgedMs: 2_000_000 };

  it('pending waits for the level deadline; acknowledged for the re-trigger; snoozed for the snooze end', () => {
    expect(nextDeadline(state(), policy, clock, null)).toEqual({ kind: 'level_timeout', atMs: 1_060_000, summary: 'level 1 ack due' });
    expect(nextDeadline(state({ status: 'acknowledged' }), policy, clock, null)).toMatchObject({ kind: 'retrigger', atMs: 2_600_000 });
    const until = new Date(5_000_000).toISOString();
    expect(nextDeadline(state({ status: 'snoozed', snoozedUntil: until }), policy, clock, null)).toMatchObject({ kind: 'snooze_end', atMs: 5_000_000 });
  });

  it('auto-resolve wins when it comes first; an exhausted escalation waits only for it (or a person)', () => {
    expect(nextDeadline(state(), policy, clock, 1_010_000)).toMatchObject({ kind: 'auto_resolve' });
    expect(nextDeadline(state({ exhausted: true }), policy, clock, null)).toBeNull();
    expect(nextDeadline(state({ exhausted: true }), policy, clock, 9_000_000)).toMatchObject({ kind: 'auto_resolve', atMs: 9_000_000 });
  });
});

describe('execute_workflow input', () => {
  it('is checked as a Liquid template when the rule is saved', () => {
    const rule = (input: string) => checkRule({
      ruleType: 'manual', triggerCondition: {}, escalationAction: 'execute_workflow', escalationTarget: null, policy: defaultPolicy,
      actionConfig: { workflow: 'agent_task', input, priority: 'normal' },
    });
    expect(rule('Follow up on {{ event.reason }}').ok).toBe(true);
    const bad = rule('Follow up {% if event.reason %}');
    expect(bad).toMatchObject({ ok: false, issues: [{ path: ['actionConfig', 'input'] }] });
  });
});
