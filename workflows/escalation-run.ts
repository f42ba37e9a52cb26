import { patched, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { RecordChange } from './escalation-action.js';
import { notifyLevel, startDeliveries } from './escalation-notify.js';
import { describeState } from './escalation-timers.js';
import { acknowledgeUpdate, escalationStateQuery, ignoreUpdate, resolveUpdate, searchAttributes, snoozeUpdate } from './contracts/index.js';
import type { EscalationCommand, EscalationInput, EscalationSnapshot, EscalationState, EscalationStatus } from './contracts/index.js';
import { store } from './proxies.js';

/** Resolved and ignored escalations take no further command and wait on no timer. */
export const closed = (s: EscalationStatus) => s === 'resolved' || s === 'ignored';

/**
 * What one escalation run holds between its steps: the state people see, the clocks its deadlines are
 * measured from, and the one queue (`serial`) through which commands and deadlines change the state, so
 * two changes never interleave.
 */
export interface EscalationRun {
  readonly input: EscalationInput;
  readonly state: EscalationState;
  /** `version` changes with every change of state; a deadline that fires after a change is stale. */
  readonly clock: { levelStartedMs: number; acknowledgedMs: number; version: number };
  /** The event's snapshot and creation time, set once `begun` settles. */
  readonly snapshot: EscalationSnapshot;
  readonly createdAtMs: number;
  readonly begun: Promise<void>;
  /** Level 1 was told (and `notified` recorded) in the first step, with `begun` (FIRST_STEP_PATCH). */
  readonly notifiedAtBegin: boolean;
  /** Notification deliveries still running; the run waits for them before it returns. */
  readonly deliveries: Promise<unknown>[];
  serial<T>(fn: () => Promise<T>): Promise<T>;
  record: RecordChange;
  /** Shows the state in the search attributes and the workflow's current details. */
  publish(): void;
  /** Notifies the current level and records it as `kind`; call it inside `serial`. */
  notifyCurrentLevel(kind: string): Promise<void>;
}

/**
 * From this patch on, the first step is one local activity and one transaction (`beginEscalationAndNotify`):
 * begin, store level 1's notifications and record `notified`, where it was three local activities
 * (begin, prepare, record), each with its own transaction. The level-1 timer counts from the `notified`
 * time the activity recorded, and the first `publish` no longer repeats the search attributes the start
 * set (nor does any later one that changes none): one history event and one visibility write fewer. A
 * command sent with the start now applies after level 1 was told, not before.
 */
export const FIRST_STEP_PATCH = 'escalation-first-step-in-one-transaction';

/**
 * Starts a run: schedules the first step (`begun`) and sets up the state, the timeline record and the
 * queue. No await here, so the caller can register handlers before its first await.
 */
export function beginRun(input: EscalationInput): EscalationRun {
  let snapshot!: EscalationSnapshot;
  let createdAtMs = 0;
  const state: EscalationState = { eventId: input.eventId, status: 'pending', level: 0, pass: 0, snoozedUntil: null, exhausted: false };
  const clock = { levelStartedMs: Date.now(), acknowledgedMs: 0, version: 0 };
  let seq = 1; // 0 is the `created` entry written with the event
  let round = 0; // notification rounds, which key the notification rows
  const deliveries: Promise<unknown>[] = [];
  const oneStep = patched(FIRST_STEP_PATCH);
  let notifiedAtBegin = false;
  // The search attributes last shown (under the patch: those the start set), so an unchanged state is not upserted.
  let shown = oneStep ? `pending:1` : null;
  const begun = oneStep
    ? store.beginEscalationAndNotify.executeWithOptions({
      summary: 'read the event and its frozen rule; if its action is notify, render and store the notifications of level 1, pass 1 and record timeline: notified (pending, level 1, pass 1)',
    }, [{ eventId: input.eventId }]).then((r) => {
      snapshot = r.snapshot;
      createdAtMs = r.createdAtMs;
      if (!r.notified) return;
      [notifiedAtBegin, seq, round] = [true, 2, 1];
      clock.levelStartedMs = r.notified.atMs;
      startDeliveries(r.notified.prepared, deliveries);
    })
    : store.beginEscalation.executeWithOptions({ summary: 'read the event and its frozen rule' }, [{ eventId: input.eventId }]).then((r) => {
      snapshot = r.snapshot;
      createdAtMs = r.createdAtMs;
    });
  let chain: Promise<unknown> = begun;

  const record: RecordChange = (kind, actor, extra = {}) =>
    store.recordEscalationChange.executeWithOptions({ summary: `timeline: ${kind} (${state.status}, level ${state.level + 1}, pass ${state.pass + 1})` }, [{
      eventId: input.eventId, seq: seq++, kind, status: state.status, level: state.level, pass: state.pass, actor, atMs: Date.now(),
      ...(kind === 'snoozed' || kind === 'snooze_ended' ? { snoozedUntil: state.snoozedUntil } : {}), ...extra,
    }]);
  return {
    input, state, clock, begun, deliveries, record,
    get snapshot() {
      return snapshot;
    },
    get createdAtMs() {
      return createdAtMs;
    },
    get notifiedAtBegin() {
      return notifiedAtBegin;
    },
    serial<T>(fn: () => Promise<T>): Promise<T> {
      const next = chain.then(fn);
      chain = next.catch(() => undefined);
      return next;
    },
    publish() {
      const now = `${state.status}:${state.level + 1}`;
      if (!oneStep || now !== shown) upsertSearchAttributes([
        { key: searchAttributes.escalationStatus, value: state.status },
        { key: searchAttributes.escalationLevel, value: state.level + 1 },
      ]);
      shown = now;
      setCurrentDetails(describeState(state, snapshot));
    },
    async notifyCurrentLevel(kind: string) {
      const sent = await notifyLevel(input.eventId, state, round++, deliveries);
      clock.levelStartedMs = Date.now(); // the level's acknowledgement time starts once it has been told
      await record(kind, 'system', { details: { notifications: sent } });
    },
  };
}

/**
 * People's commands (acknowledge, resolve, ignore, snooze) and the state query: validated before they
 * enter history, applied one at a time through the run's queue, so a command sent right after the start
 * waits for `begun` like every other step.
 */
export function registerCommandHandlers(run: EscalationRun): void {
  const { state, clock } = run;
  const command = (to: EscalationStatus, kind: string) => (cmd: EscalationCommand) =>
    run.serial(async () => {
      if (state.status === to && to !== 'snoozed') return { ...state }; // repeating is harmless
      if (closed(state.status)) return { ...state };
      state.status = to;
      if (to === 'acknowledged') clock.acknowledgedMs = Date.now();
      state.snoozedUntil = to === 'snoozed' ? cmd.until! : null;
      clock.version++;
      await run.record(kind, cmd.actor, { note: cmd.note, ...(to === 'snoozed' ? { details: { until: cmd.until } } : {}) });
      run.publish();
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
}
