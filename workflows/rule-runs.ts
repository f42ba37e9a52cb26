import { continueAsNew, proxyActivities, setCurrentDetails, sleep, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { startEscalations } from './escalation-start.js';
import type { RuleRunInput } from './contracts/index.js';

/** Rule checks read metrics and events: short DB work, retried quietly. */
const checks = proxyActivities<Activities>({
  summary: 'evaluate the rule (metrics and events in Postgres)',
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/** Ticks per run before continue-as-new: about a thousand history events. */
const TICKS_PER_RUN = 100;

/**
 * One long-lived monitor per active threshold rule (`threshold:<ruleId>`): every interval it reads the
 * rule's metric over its sliding window and opens an escalation when the threshold is crossed, then holds
 * a cool-down. It re-reads the rule each tick (edits apply at once) and stops when the rule is inactive,
 * deleted or cancelled. Continue-as-new keeps its history short; the cool-down travels with it.
 */
export async function runThresholdMonitor(input: RuleRunInput): Promise<string> {
  let cooldownUntilMs = input.cooldownUntilMs ?? 0;
  for (let tick = 0; tick < TICKS_PER_RUN && !workflowInfo().continueAsNewSuggested; tick++) {
    const tickMs = Date.now();
    const check = await checks.checkThreshold({ ruleId: input.ruleId, tickMs, cooldownUntilMs });
    if (!check.active) return 'rule inactive';
    if (check.opened) {
      cooldownUntilMs = tickMs + check.cooldownSeconds * 1000;
      await startEscalations([check.opened]);
    }
    setCurrentDetails(
      `value **${check.value ?? 'n/a'}** (${check.samples} samples) · ${check.crossed ? 'crossed' : 'below threshold'}` +
        (cooldownUntilMs > tickMs ? ` · cool-down until ${new Date(cooldownUntilMs).toISOString()}` : ''),
    );
    // Cancelling the monitor (its rule deactivated or deleted) ends this sleep: the run shows as canceled.
    await sleep(check.intervalSeconds * 1000, { summary: 'next check' });
  }
  return continueAsNew<typeof runThresholdMonitor>({ ...input, cooldownUntilMs });
}

/**
 * One firing of a scheduled rule's Temporal Schedule: evaluates the rule's condition (idle conversations,
 * escalations pending too long, or always) and starts an escalation for each event it opens. The
 * workflow id (unique per firing) keys the events, so a retried run opens them once.
 */
export async function runScheduledRule(input: RuleRunInput): Promise<{ opened: number }> {
  const opened = await checks.runScheduledCheck({ ruleId: input.ruleId, runId: workflowInfo().workflowId, nowMs: Date.now() });
  await startEscalations(opened);
  return { opened: opened.length };
}
