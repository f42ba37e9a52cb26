import { z } from '../../zod.js';
import { tenantRegexProblem } from '../../tenant-expressions/regex.js';
import { checkTemplate, TemplateSyntaxError } from '../notifications/template-render.js';
import {
  channels,
  escalationActions,
  priorities,
  ruleTypes,
  thresholdMetrics,
  type EscalationPolicy,
  type RuleType,
} from '../../../workflows/contracts/index.js';

/** Longest duration any timer of a rule may take: 30 days. Shortest: 1 second, so tests run fast. */
const MAX_SECONDS = 30 * 24 * 3600;
const seconds = z.number().int().min(1).max(MAX_SECONDS);

/** A rule's regex must run on RE2 (linear time): the 400 says what RE2 refused. */
const re2Pattern = z.string().min(1).max(500).superRefine((pattern, ctx) => {
  const problem = tenantRegexProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${problem}` });
});

/** deviation: evaluated after every turn; fires when any of the given conditions holds. */
export const deviationCondition = z
  .object({
    keywords: z.array(z.string().trim().min(1).max(100)).min(1).max(50).optional(),
    regex: re2Pattern.optional(),
    /** The user asks for a human ("talk to a person", "human agent", …). */
    askHuman: z.boolean().optional(),
    /** Offer the model the built-in `escalate_to_human` tool; fires when it calls it. */
    escalateTool: z.boolean().optional(),
    /** A tool call failed during the turn. */
    toolFailure: z.boolean().optional(),
    /** The conversation has more than this many turns. */
    turnCountAbove: z.number().int().min(1).max(100_000).optional(),
    /** The turn took longer than this many milliseconds. */
    responseTimeAboveMs: z.number().int().min(1).max(3_600_000).optional(),
  })
  .strict()
  .refine((c) => Object.values(c).some((v) => v !== undefined && v !== false), {
    message: 'a deviation rule needs at least one condition (keywords, regex, askHuman, escalateTool, toolFailure, turnCountAbove, responseTimeAboveMs)',
  })
  .openapi('DeviationCondition');

/** threshold: a monitor workflow reads `metric` over the last `windowSeconds` every `intervalSeconds`. */
export const thresholdCondition = z
  .object({
    metric: z.enum(thresholdMetrics),
    operator: z.enum(['gt', 'gte', 'lt', 'lte']).default('gt'),
    threshold: z.number().finite(),
    windowSeconds: seconds,
    intervalSeconds: seconds.max(24 * 3600).default(60),
    cooldownSeconds: z.number().int().min(0).max(MAX_SECONDS).default(900),
    /** Below this many samples in the window the metric is not judged (rates of 1 call say little). */
    minSamples: z.number().int().min(1).max(1_000_000).default(1),
  })
  .strict()
  .openapi('ThresholdCondition');

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const CRON_FIELD = /^[0-9*,/?LW#A-Za-z-]+$/;
const scheduleSpec = z.union([
  z
    .object({
      cron: z
        .string()
        .trim()
        .max(200)
        .refine((c) => {
          const fields = c.split(/\s+/);
          return fields.length >= 5 && fields.length <= 7 && fields.every((f) => CRON_FIELD.test(f));
        }, 'cron needs 5 to 7 fields (minute hour day-of-month month day-of-week)'),
      timezone: z.string().max(100).refine(validTimeZone, 'unknown time zone').default('UTC'),
    })
    .strict(),
  z.object({ intervalSeconds: seconds }).strict(),
]);

/** scheduled: a Temporal Schedule runs the rule; the condition decides whether (and for what) it fires. */
export const scheduledCondition = z
  .object({
    schedule: scheduleSpec,
    condition: z.discriminatedUnion('type', [
      z.object({ type: z.literal('idle_conversations'), idleSeconds: seconds }).strict(),
      z.object({ type: z.literal('pending_escalations'), pendingSeconds: seconds }).strict(),
      z.object({ type: z.literal('always') }).strict(),
    ]),
  })
  .strict()
  .openapi('ScheduledCondition');

/** manual: fired by `POST /v1/conversations/:id/escalations`; nothing to configure. */
export const manualCondition = z.object({}).strict().openapi('ManualCondition');

export const triggerConditionSchemas = {
  deviation: deviationCondition,
  threshold: thresholdCondition,
  manual: manualCondition,
  scheduled: scheduledCondition,
} as const;

export type DeviationCondition = z.infer<typeof deviationCondition>;
export type ThresholdCondition = z.infer<typeof thresholdCondition>;
export type ScheduledCondition = z.infer<typeof scheduledCondition>;

export const policyLevelSchema = z
  .object({
    targets: z.array(z.string().uuid()).min(1).max(20),
    channels: z.array(z.enum(channels)).min(1).max(4),
    ackTimeoutSeconds: seconds,
  })
  .strict();

export const policySchema = z
  .object({
    levels: z.array(policyLevelSchema).max(10).default([]),
    repeat: z.number().int().min(0).max(10).default(0),
    retriggerAfterSeconds: seconds.nullable().default(null),
    autoResolveAfterSeconds: seconds.nullable().default(null),
    snoozeUntil: z.string().datetime({ offset: true }).nullable().default(null),
    templateIds: z.partialRecord(z.enum(channels), z.string().uuid()).default({}),
  })
  .strict()
  .openapi('EscalationPolicy');

export const actionConfigSchema = z
  .object({
    workflow: z.literal('agent_task'),
    agentId: z.string().uuid().optional(),
    input: z.string().min(1).max(32_000),
    priority: z.enum(['low', 'normal', 'high']).default('normal'),
  })
  .strict()
  .openapi('EscalationActionConfig');

export const ruleFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(4000).nullable(),
  agentId: z.string().uuid(),
  ruleType: z.enum(ruleTypes),
  /** Validated against the schema of `ruleType` (see `parseTriggerCondition`). */
  triggerCondition: z.record(z.string(), z.unknown()),
  triggerEvents: z.array(z.string().min(1).max(100)).max(50),
  escalationAction: z.enum(escalationActions),
  escalationTarget: z.string().uuid().nullable(),
  escalationTemplateId: z.string().uuid().nullable(),
  actionConfig: actionConfigSchema.nullable(),
  policy: policySchema,
  priority: z.enum(priorities),
  status: z.enum(['active', 'inactive']),
};

export const defaultPolicy: EscalationPolicy = policySchema.parse({});

export type TriggerIssue = { path: (string | number)[]; message: string };

/**
 * Checks a whole rule (after a PATCH is merged) and returns its parsed condition or the problems, each
 * with the body path it belongs to.
 */
export function checkRule(rule: {
  ruleType: RuleType;
  triggerCondition: unknown;
  escalationAction: string;
  escalationTarget: string | null;
  actionConfig: unknown;
  policy: EscalationPolicy;
}): { ok: true; condition: Record<string, unknown> } | { ok: false; issues: TriggerIssue[] } {
  const issues: TriggerIssue[] = [];
  const parsed = triggerConditionSchemas[rule.ruleType].safeParse(rule.triggerCondition ?? {});
  if (!parsed.success) {
    for (const i of parsed.error.issues) issues.push({ path: ['triggerCondition', ...(i.path as (string | number)[])], message: i.message });
  }
  if (rule.escalationAction === 'notify' && !rule.escalationTarget && rule.policy.levels.length === 0) {
    issues.push({ path: ['escalationTarget'], message: 'notify needs an escalationTarget or policy.levels' });
  }
  if (rule.escalationAction === 'assign' && !rule.escalationTarget && rule.policy.levels.length === 0) {
    issues.push({ path: ['escalationTarget'], message: 'assign needs an escalationTarget (or policy.levels)' });
  }
  if (rule.escalationAction === 'execute_workflow' && !rule.actionConfig) {
    issues.push({ path: ['actionConfig'], message: 'execute_workflow needs actionConfig' });
  }
  const input = (rule.actionConfig as { input?: unknown } | null)?.input;
  if (typeof input === 'string') {
    // The follow-up task's input is a Liquid template too: refuse it at save, not when an escalation fires.
    try {
      checkTemplate({ body: input });
    } catch (err) {
      if (!(err instanceof TemplateSyntaxError)) throw err;
      issues.push({ path: ['actionConfig', 'input'], message: err.message.replace(/^body: /, '') });
    }
  }
  if (issues.length) return { ok: false, issues };
  return { ok: true, condition: (parsed as { data: Record<string, unknown> }).data };
}
