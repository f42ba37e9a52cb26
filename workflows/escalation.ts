import { allHandlersFinished, condition } from '@temporalio/workflow';
import { runEscalationAction } from './escalation-action.js';
import { beginRun, closed, registerCommandHandlers, type EscalationRun } from './escalation-run.js';
import { nextDeadline, type Deadline } from './escalation-timers.js';
import type { EscalationInput, EscalationState } from './contracts/index.js';

/**
 * One escalation event, from firing to resolution: run the rule's action, notify the first level, then
 * wait on durable timers. Unacknowledged past a level's timeout → the next level (and the whole policy
 * again, `repeat` times); acknowledged but unresolved past `retriggerAfterSeconds` → pending again and
 * re-notified; snoozed → quiet until then; `autoResolveAfterSeconds` after creation → resolved by the
 * system. People act through updates that answer once the change is recorded.
 */
export async function runEscalation(input: EscalationInput): Promise<EscalationState> {
  // Handlers are registered before the first await, so a command sent right after the start is never
  // refused for want of a handler; it queues behind `begun` like every other step.
  const run = beginRun(input);
  registerCommandHandlers(run);

  await run.begun;
  run.publish();
  if (!run.notifiedAtBegin) {
    await run.serial(() => runEscalationAction(input, run.snapshot, run.record));
    if (!closed(run.state.status) && run.snapshot.policy.levels.length) await run.serial(() => run.notifyCurrentLevel('notified'));
  }
  await followDeadlines(run);
  return finish(run);
}

/**
 * Until the escalation closes: wait for the next deadline or a person's change, whichever comes first. A
 * change restarts the wait (the deadline may have moved); a deadline that fires is applied in the queue,
 * unless a person acted in the meantime.
 */
async function followDeadlines(run: EscalationRun): Promise<void> {
  const { state, clock, snapshot } = run;
  const autoResolveAtMs = snapshot.policy.autoResolveAfterSeconds ? run.createdAtMs + snapshot.policy.autoResolveAfterSeconds * 1000 : null;
  while (!closed(state.status)) {
    const deadline: Deadline | null = nextDeadline(state, snapshot.policy, clock, autoResolveAtMs);
    const version = clock.version;
    const changed = () => clock.version !== version || closed(state.status);
    if (!deadline) {
      await condition(changed);
      continue;
    }
    const woke = await condition(changed, Math.max(1, deadline.atMs - Date.now()), { summary: deadline.summary });
    if (woke) continue;
    await run.serial(async () => {
      if (clock.version !== version || closed(state.status)) return; // a person acted meanwhile
      await onDeadline(run, deadline);
    });
  }
}

/** Applies a deadline nobody beat: auto-resolve, the next level (or pass, or exhaustion), or pending again. */
async function onDeadline(run: EscalationRun, deadline: Deadline): Promise<void> {
  const { state, clock, snapshot } = run;
  clock.version++;
  if (deadline.kind === 'auto_resolve') {
    state.status = 'resolved';
    await run.record('auto_resolved', 'system', { note: `auto-resolved after ${snapshot.policy.autoResolveAfterSeconds} s` });
    run.publish();
    return;
  }
  if (deadline.kind === 'level_timeout') {
    if (!moveToNextLevel(state, snapshot.policy.levels.length, snapshot.policy.repeat)) {
      state.exhausted = true;
      await run.record('exhausted', 'system', { note: 'every level timed out; nobody else to notify' });
      run.publish();
      return;
    }
  } else {
    // retrigger (acknowledged but unresolved) or the end of a snooze: pending again, same level.
    state.status = 'pending';
    state.snoozedUntil = null;
    state.exhausted = false;
  }
  run.publish();
  await run.notifyCurrentLevel({ level_timeout: 'escalated', retrigger: 'retriggered', snooze_end: 'snooze_ended' }[deadline.kind]);
}

/** The next level, or the first level of the next pass; false when every pass is used up. */
function moveToNextLevel(state: EscalationState, levels: number, repeat: number): boolean {
  if (state.level + 1 < levels) state.level++;
  else if (state.pass < repeat) {
    state.pass++;
    state.level = 0;
  } else return false;
  return true;
}

/** Lets the notifications already sent finish and the last update handlers answer before the run closes. */
async function finish(run: EscalationRun): Promise<EscalationState> {
  await Promise.allSettled(run.deliveries);
  await condition(allHandlersFinished);
  return { ...run.state };
}
