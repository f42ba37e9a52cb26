import { allHandlersFinished, condition, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { runEscalationAction } from './escalation-action.js';
import { acknowledgeUpdate, escalationStateQuery, ignoreUpdate, resolveUpdate, snoozeUpdate } from './contracts/index.js';
import { notifyLevel } from './escalation-notify.js';
import { describeState, nextDeadline, type Deadline } from './escalation-timers.js';
import type { EscalationCommand, EscalationInput, EscalationSnapshot, EscalationState, EscalationStatus } from './contracts/index.js';
import { db } from './proxies.js';
import { searchAttributes } from './contracts/index.js';

const closed = (s: EscalationStatus) => s === 'resolved' || s === 'ignored';

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
  let snapshot!: EscalationSnapshot;
  let createdAtMs = 0;
  const begun = db.beginEscalation({ eventId: input.eventId }).then((r) => {
    snapshot = r.snapshot;
    createdAtMs = r.createdAtMs;
  });
  const state: EscalationState = { eventId: input.eventId, status: 'pending', level: 0, pass: 0, snoozedUntil: null, exhausted: false };
  const clock = { levelStartedMs: Date.now(), acknowledgedMs: 0, version: 0 };
  let seq = 1; // 0 is the `created` entry written with the event
  let round = 0; // notification rounds, which key the notification rows

  const publish = () => {
    upsertSearchAttributes([
      { key: searchAttributes.escalationStatus, value: state.status },
      { key: searchAttributes.escalationLevel, value: state.level + 1 },
    ]);
    setCurrentDetails(describeState(state, snapshot));
  };
  const record = (kind: string, actor: string, extra: { note?: string; details?: Record<string, unknown>; assignedTo?: string | null } = {}) =>
    db.recordEscalationChange({
      eventId: input.eventId, seq: seq++, kind, status: state.status, level: state.level, actor, atMs: Date.now(),
      ...(kind === 'snoozed' || kind === 'snooze_ended' ? { snoozedUntil: state.snoozedUntil } : {}), ...extra,
    });

  // People's commands: validated before they enter history, applied one at a time.
  let chain: Promise<unknown> = begun;
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const command = (to: EscalationStatus, kind: string) => (cmd: EscalationCommand) =>
    serial(async () => {
      if (state.status === to && to !== 'snoozed') return { ...state }; // repeating is harmless
      if (closed(state.status)) return { ...state };
      state.status = to;
      if (to === 'acknowledged') clock.acknowledgedMs = Date.now();
      state.snoozedUntil = to === 'snoozed' ? cmd.until! : null;
      clock.version++;
      await record(kind, cmd.actor, { note: cmd.note, ...(to === 'snoozed' ? { details: { until: cmd.until } } : {}) });
      publish();
      return { ...state };
    });
  const notClosed = (_cmd?: EscalationCommand) => {
    if (closed(state.status)) throw new Error(`the escalation is already ${state.status}`);
  };
  setHandler(acknowledgeUpdate, command('acknowledged', 'acknowledged'), { validator: notClosed });
  setHandler(resolveUpdate, command('resolved', 'resolved'), { validator: notClosed });
  setHandler(ignoreUpdate, command('ignored', 'ignored'), { validator: notClosed });
  setHandler(snoozeUpdate, command('snoozed', 'snoozed'), {
    validator: (cmd) => {
      notClosed();
      if (!cmd.until || !(Date.parse(cmd.until) > Date.now())) throw new Error('snooze needs `until` in the future');
    },
  });
  setHandler(escalationStateQuery, () => ({ ...state }));

  await begun;
  publish();
  const deliveries: Promise<unknown>[] = [];
  const notify = (kind: string) =>
    serial(async () => {
      const sent = await notifyLevel(input.eventId, state, round++, deliveries);
      clock.levelStartedMs = Date.now(); // the level's acknowledgement time starts once it has been told
      await record(kind, 'system', { details: { level: state.level + 1, pass: state.pass, notifications: sent } });
    });

  await serial(() => runEscalationAction(input, snapshot, record));
  if (!closed(state.status) && snapshot.policy.levels.length) await notify('notified');

  const autoResolveAtMs = snapshot.policy.autoResolveAfterSeconds ? createdAtMs + snapshot.policy.autoResolveAfterSeconds * 1000 : null;
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
    await serial(async () => {
      if (clock.version !== version || closed(state.status)) return; // a person acted meanwhile
      await onDeadline(deadline);
    });
  }
  await Promise.allSettled(deliveries);
  await condition(allHandlersFinished);
  return { ...state };

  async function onDeadline(deadline: Deadline): Promise<void> {
    clock.version++;
    if (deadline.kind === 'auto_resolve') {
      state.status = 'resolved';
      await record('auto_resolved', 'system', { note: `auto-resolved after ${snapshot.policy.autoResolveAfterSeconds} s` });
      publish();
      return;
    }
    if (deadline.kind === 'level_timeout') {
      const levels = snapshot.policy.levels.length;
      if (state.level + 1 < levels) state.level++;
      else if (state.pass < snapshot.policy.repeat) {
        state.pass++;
        state.level = 0;
      } else {
        state.exhausted = true;
        await record('exhausted', 'system', { note: 'every level timed out; nobody else to notify' });
        publish();
        return;
      }
    } else {
      // retrigger (acknowledged but unresolved) or the end of a snooze: pending again, same level.
      state.status = 'pending';
      state.snoozedUntil = null;
      state.exhausted = false;
    }
    publish();
    const kind = { level_timeout: 'escalated', retrigger: 'retriggered', snooze_end: 'snooze_ended' }[deadline.kind];
    const sent = await notifyLevel(input.eventId, state, round++, deliveries);
    clock.levelStartedMs = Date.now();
    await record(kind, 'system', { details: { level: state.level + 1, pass: state.pass, notifications: sent } });
  }
}
