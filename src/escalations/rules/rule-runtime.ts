import {
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db, Tx } from '../../db/client.js';
import { AppError } from '../../errors.js';
import type { RuleRow } from './rule-store.js';
import {
  ruleScheduleId,
  scheduledRuleWorkflowId,
  searchAttributes,
  thresholdMonitorWorkflowId,
  type RuleRunInput,
  type Workflows,
} from '../../../workflows/contracts/index.js';
import { scheduledCondition } from '../contracts/rule-fields.js';

/** Thrown when Temporal refuses a scheduled rule's spec (a cron our syntax check let through, a zone it lacks). */
export class InvalidScheduleError extends AppError {
  constructor(reason: string) {
    super(400, 'invalid_schedule', `invalid request: body.triggerCondition.schedule: ${reason}`, [
      { field: 'body.triggerCondition.schedule', message: reason },
    ]);
  }
}

/**
 * A monitor run reads its rule on its first tick and stops if the rule is missing or inactive; the start
 * is made before the rule's transaction commits, so the first task waits this long for the commit.
 */
const MONITOR_START_DELAY = '2 seconds';

const wantsMonitor = (r: RuleRow | null) => r?.ruleType === 'threshold' && r.status === 'active';
const wantsSchedule = (r: RuleRow | null) => r?.ruleType === 'scheduled';
const runInput = (r: RuleRow): RuleRunInput => ({ ruleId: r.id, projectId: r.projectId, agentId: r.agentId });
/** The static details of a rule's workflows in the Temporal UI: ids only. */
const ruleDetails = (r: RuleRow) => `rule ${r.id} · agent ${r.agentId} · project ${r.projectId}`;

const ruleAttributes = (r: RuleRow) => [
  { key: searchAttributes.projectId, value: r.projectId },
  { key: searchAttributes.agentId, value: r.agentId },
  { key: searchAttributes.ruleId, value: r.id },
];

/**
 * `fresh` (the rule was not monitored before) terminates whatever run still holds the id: it can only be
 * a run told to stop (cancel requested, not yet processed), and reusing it would leave no monitor.
 * Otherwise the running monitor is kept: it re-reads the rule every tick, so edits need no restart.
 */
async function startMonitor(client: Client, taskQueue: string, rule: RuleRow, fresh: boolean): Promise<void> {
  await client.workflow.start<Workflows['runThresholdMonitor']>('runThresholdMonitor', {
    taskQueue,
    workflowId: thresholdMonitorWorkflowId(rule.id),
    args: [runInput(rule)],
    workflowIdConflictPolicy: fresh ? 'TERMINATE_EXISTING' : 'USE_EXISTING',
    startDelay: MONITOR_START_DELAY,
    typedSearchAttributes: ruleAttributes(rule),
    staticSummary: `Threshold monitor for rule "${rule.name}"`,
    staticDetails: ruleDetails(rule),
  });
}

async function cancelMonitor(client: Client, ruleId: string): Promise<void> {
  try {
    await client.workflow.getHandle(thresholdMonitorWorkflowId(ruleId)).cancel();
  } catch (err) {
    // Never started, or already closed (the server answers NOT_FOUND for both).
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

function scheduleOptions(rule: RuleRow, taskQueue: string): ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<Workflows['runScheduledRule']>> {
  const { schedule } = scheduledCondition.parse(rule.triggerCondition);
  const paused = rule.status !== 'active';
  return {
    spec: 'cron' in schedule
      ? { cronExpressions: [schedule.cron], timezone: schedule.timezone }
      : { intervals: [{ every: `${schedule.intervalSeconds} seconds` }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'runScheduledRule',
      // Temporal appends the scheduled time, so every firing has an id of its own.
      workflowId: scheduledRuleWorkflowId(rule.id),
      taskQueue,
      args: [runInput(rule)],
      typedSearchAttributes: ruleAttributes(rule),
      staticSummary: `Scheduled run of rule "${rule.name}"`,
      staticDetails: ruleDetails(rule),
    },
    // A run still going when the next is due makes the next one pointless; after an outage, one late
    // run is enough (the checks look at the present, not at the missed instant).
    policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
    typedSearchAttributes: ruleAttributes(rule),
    state: { paused, note: paused ? 'rule is inactive' : 'rule is active' },
  };
}

async function upsertSchedule(client: Client, taskQueue: string, rule: RuleRow): Promise<void> {
  const options = scheduleOptions(rule, taskQueue);
  try {
    try {
      await client.schedule.getHandle(ruleScheduleId(rule.id)).update(() => options);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      await client.schedule.create({ scheduleId: ruleScheduleId(rule.id), ...options });
    }
  } catch (err) {
    // The client turns the server's "Invalid schedule spec" answer into a TypeError.
    if (err instanceof TypeError) throw new InvalidScheduleError(err.message);
    throw err;
  }
}

async function deleteSchedule(client: Client, ruleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(ruleScheduleId(ruleId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

/** A scheduled rule has a Schedule, paused while the rule is inactive; other types have none. */
async function syncSchedule(client: Client, taskQueue: string, rule: RuleRow | null, previous: RuleRow | null): Promise<void> {
  if (rule && wantsSchedule(rule)) await upsertSchedule(client, taskQueue, rule);
  else if (previous && wantsSchedule(previous)) await deleteSchedule(client, previous.id);
}

/** An active threshold rule has a monitor workflow; anything else has none. */
async function syncMonitor(client: Client, taskQueue: string, rule: RuleRow | null, previous: RuleRow | null): Promise<void> {
  if (rule && wantsMonitor(rule)) await startMonitor(client, taskQueue, rule, !wantsMonitor(previous));
  else if (previous && wantsMonitor(previous)) await cancelMonitor(client, previous.id);
}

/** The schedule goes first: it is the step Temporal may refuse, before anything is cancelled. */
const syncSteps = [syncSchedule, syncMonitor] as const;

/**
 * Makes Temporal match `rule` (null: the rule is gone) given the rule it matched before, touching only
 * what changed: a kept monitor is not restarted, an unchanged schedule is rewritten in place.
 */
export async function syncRuleRuntime(client: Client, taskQueue: string, rule: RuleRow | null, previous: RuleRow | null): Promise<void> {
  for (const step of syncSteps) await step(client, taskQueue, rule, previous);
}

export interface RuleRuntimeDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
}

/**
 * Writes a rule and brings Temporal in line before the transaction commits, so a refused or failed
 * Temporal call leaves the rule as it was (the error answers 400 or 503). When a later step or the commit
 * fails, the steps already made are undone to match the rule still stored; should that fail too, it is
 * logged and the next change of the rule repairs it. Whatever runs meanwhile is harmless: monitors and
 * scheduled runs read the rule and do nothing for one that is missing, inactive or of another type.
 */
export async function writeRuleWithRuntime(
  deps: RuleRuntimeDeps,
  write: (tx: Tx) => Promise<{ previous: RuleRow | null; next: RuleRow | null }>,
): Promise<RuleRow | null> {
  const { temporal, taskQueue } = deps;
  const undo: { run: () => Promise<void>; ruleId: string }[] = [];
  try {
    return await deps.db.transaction(async (tx) => {
      const { previous, next } = await write(tx);
      const ruleId = previous?.id ?? next?.id ?? 'unknown';
      for (const step of syncSteps) {
        // Registered before the call: a call that failed (a timeout) may still have taken effect.
        undo.unshift({ run: () => step(temporal, taskQueue, previous, next), ruleId });
        await step(temporal, taskQueue, next, previous);
      }
      return next;
    });
  } catch (err) {
    // The failed step is first; when Temporal refused the schedule, that step changed nothing.
    for (const u of err instanceof InvalidScheduleError ? undo.slice(1) : undo) {
      await u.run().catch((undoErr: unknown) => deps.logger.error({ err: undoErr, ruleId: u.ruleId }, 'could not restore the Temporal state of an escalation rule'));
    }
    throw err;
  }
}

/** What Temporal runs for a rule right now; null for rule types that run inside conversation turns. */
export type RuleRuntime =
  | { monitorWorkflowId: string; monitorStatus: string }
  | { scheduleId: string; scheduleStatus: 'ACTIVE' | 'PAUSED' | 'NOT_FOUND'; paused: boolean | null; nextActionTimes: string[] };

export async function describeRuleRuntime(client: Client, rule: RuleRow): Promise<RuleRuntime | null> {
  if (rule.ruleType === 'threshold') {
    const monitorWorkflowId = thresholdMonitorWorkflowId(rule.id);
    try {
      const d = await client.workflow.getHandle(monitorWorkflowId).describe();
      return { monitorWorkflowId, monitorStatus: d.status.name };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { monitorWorkflowId, monitorStatus: 'NOT_FOUND' };
      throw err;
    }
  }
  if (rule.ruleType !== 'scheduled') return null;
  const scheduleId = ruleScheduleId(rule.id);
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    const { paused } = d.state;
    return { scheduleId, scheduleStatus: paused ? 'PAUSED' : 'ACTIVE', paused, nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()) };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return { scheduleId, scheduleStatus: 'NOT_FOUND', paused: null, nextActionTimes: [] };
    throw err;
  }
}
