/**
 * What the escalation workflows, their activities and the gateway agree on: the domain enums, the rule
 * snapshot, the workflow's input, state and commands. Pure types and constants: imported by workflow code,
 * so no I/O and no Node built-ins.
 */
import { searchAttributes } from './temporal.js';

export const channels = ['email', 'webhook', 'in_app', 'sms'] as const;
export type Channel = (typeof channels)[number];

export const ruleTypes = ['deviation', 'threshold', 'manual', 'scheduled'] as const;
export type RuleType = (typeof ruleTypes)[number];

export const escalationActions = ['notify', 'assign', 'pause_agent', 'execute_workflow'] as const;
export type EscalationAction = (typeof escalationActions)[number];

export const priorities = ['low', 'medium', 'high', 'critical'] as const;
export type Priority = (typeof priorities)[number];

/** `snoozed` is pending with the notifications held back until `snoozedUntil`. */
export const escalationStatuses = ['pending', 'acknowledged', 'snoozed', 'resolved', 'ignored'] as const;
export type EscalationStatus = (typeof escalationStatuses)[number];

/** One step of an escalation policy: who is told, how, and how long they have to acknowledge. */
export interface PolicyLevel {
  /** app_user ids of the project. */
  targets: string[];
  channels: Channel[];
  ackTimeoutSeconds: number;
}

/** A rule's policy as stored (and copied into every event it creates). All durations are in seconds. */
export interface EscalationPolicy {
  /** Ordered levels. Empty on the rule means "the rule's target, on its template's channel". */
  levels: PolicyLevel[];
  /** How many more times the whole list of levels runs after the last level's timeout passes. */
  repeat: number;
  /** Acknowledged but not resolved after this long → back to pending, current level notified again. */
  retriggerAfterSeconds: number | null;
  /** Resolved by the system this long after the event was created, whatever its state. */
  autoResolveAfterSeconds: number | null;
  /** The rule does not fire before this instant (ISO 8601). */
  snoozeUntil: string | null;
  /** Per-channel templates; the rule's template is used for a channel without one here. */
  templateIds: Partial<Record<Channel, string>>;
}

/** What `execute_workflow` starts as a child of the escalation. */
export interface ActionConfig {
  workflow: 'agent_task';
  /** The agent that runs the follow-up task; the rule's agent when absent. */
  agentId?: string;
  /** Liquid template rendered with the notification variables; the task's input. */
  input: string;
  priority: 'low' | 'normal' | 'high';
}

/** Everything the escalation needs from its rule, frozen when the event is created. */
export interface EscalationSnapshot {
  ruleId: string;
  ruleName: string;
  ruleType: RuleType;
  priority: Priority;
  action: EscalationAction;
  actionConfig: ActionConfig | null;
  target: string | null;
  templateId: string | null;
  /** With `levels` already resolved (never empty when the rule has a target or levels). */
  policy: EscalationPolicy;
}

export interface EscalationInput {
  eventId: string;
  projectId: string;
  agentId: string;
  ruleId: string;
  conversationId: string | null;
  /** For the workflow's summary in the UI. */
  ruleName?: string;
  priority?: Priority;
}

export interface EscalationState {
  eventId: string;
  status: EscalationStatus;
  /** 0-based index into the snapshot's levels. */
  level: number;
  /** 0 for the first run through the levels, 1.. for repeats. */
  pass: number;
  snoozedUntil: string | null;
  /** True once the last level of the last pass timed out: nobody else will be told. */
  exhausted: boolean;
}

/** Argument of the acknowledge / resolve / ignore / snooze updates. */
export interface EscalationCommand {
  /** Who: `api_key:<id>`, `user:<id>` (signed link) or `system`. */
  actor: string;
  note?: string;
  /** Snooze only: ISO 8601 instant in the future. */
  until?: string;
}

export const escalationUpdates = {
  acknowledge: 'acknowledge',
  resolve: 'resolve',
  ignore: 'ignore',
  snooze: 'snooze',
} as const;
export type EscalationUpdateName = keyof typeof escalationUpdates;

/** Input of the threshold monitor (`runThresholdMonitor`) and the scheduled rule run (`runScheduledRule`). */
export interface RuleRunInput {
  ruleId: string;
  projectId: string;
  agentId: string;
  /** Threshold monitor only: carried across continue-as-new. */
  cooldownUntilMs?: number;
}

/** A trigger that fired: the event to create (deduplicated on `dedupeKey`). */
export interface FiredTrigger {
  ruleId: string;
  dedupeKey: string;
  conversationId: string | null;
  eventType: string;
  reason: string;
  triggerData: Record<string, unknown>;
}

export const thresholdMetrics = [
  'tool_failure_rate',
  'p95_response_time_ms',
  'low_satisfaction_count',
  'open_escalations',
  'turn_errors',
] as const;
export type ThresholdMetric = (typeof thresholdMetrics)[number];

/** Search attributes of an escalation workflow, so operators can filter by project, agent, rule and status. */
export function escalationSearchAttributes(e: EscalationInput) {
  return [
    { key: searchAttributes.projectId, value: e.projectId },
    { key: searchAttributes.agentId, value: e.agentId },
    { key: searchAttributes.ruleId, value: e.ruleId },
    { key: searchAttributes.escalationStatus, value: 'pending' },
    { key: searchAttributes.escalationLevel, value: 1 },
    ...(e.conversationId ? [{ key: searchAttributes.conversationId, value: e.conversationId }] : []),
  ];
}

/** The static summary of an escalation workflow in the Temporal UI. */
export function escalationSummary(e: EscalationInput): string {
  return `Escalation (${e.priority ?? 'medium'}) of rule "${e.ruleName ?? e.ruleId}"${e.conversationId ? ` for conversation ${e.conversationId}` : ''}`;
}

/**
 * The static details of an escalation workflow (Markdown, shown under the summary on the run's page):
 * the ids an operator looks up next, and nothing a person wrote.
 */
export function escalationDetails(e: EscalationInput): string {
  return [`event ${e.eventId}`, `rule ${e.ruleId}`, `agent ${e.agentId}`, `project ${e.projectId}`, ...(e.conversationId ? [`conversation ${e.conversationId}`] : [])].join(' · ');
}

/**
 * The Temporal task priority of an escalation workflow, from its rule's priority (1 runs first, 3 is the
 * default of everything else on the queue): when the task queue is backlogged, a critical page is picked
 * up before a burst of low ones. Activities and children inherit it. Servers before 1.30 honour it only
 * with `matching.useNewMatcher` on; elsewhere it is carried and ignored.
 */
export function escalationTaskPriority(e: EscalationInput): { priorityKey: number } {
  const keys: Record<Priority, number> = { critical: 1, high: 2, medium: 3, low: 4 };
  return { priorityKey: keys[e.priority ?? 'medium'] };
}
