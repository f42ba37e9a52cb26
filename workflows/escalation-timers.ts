import type { EscalationPolicy, EscalationSnapshot, EscalationState } from './contracts/index.js';

export interface Deadline {
  kind: 'level_timeout' | 'retrigger' | 'snooze_end' | 'auto_resolve';
  atMs: number;
  /** Shown on the timer in the Temporal UI. */
  summary: string;
}

/**
 * The next thing that happens to an escalation if nobody acts: the current level's acknowledgement
 * deadline, the re-trigger of an acknowledged event, the end of a snooze, or auto-resolution, whichever
 * comes first. Null when only a person can move it on (e.g. every level timed out and no auto-resolve).
 */
export function nextDeadline(
  state: EscalationState,
  policy: EscalationPolicy,
  clock: { levelStartedMs: number; acknowledgedMs: number },
  autoResolveAtMs: number | null,
): Deadline | null {
  const candidates: Deadline[] = [];
  const level = policy.levels[state.level];
  if (state.status === 'pending' && !state.exhausted && level) {
    candidates.push({ kind: 'level_timeout', atMs: clock.levelStartedMs + level.ackTimeoutSeconds * 1000, summary: `level ${state.level + 1} ack due` });
  }
  if (state.status === 'acknowledged' && policy.retriggerAfterSeconds) {
    candidates.push({ kind: 'retrigger', atMs: clock.acknowledgedMs + policy.retriggerAfterSeconds * 1000, summary: 'resolve due (re-trigger)' });
  }
  if (state.status === 'snoozed' && state.snoozedUntil) {
    candidates.push({ kind: 'snooze_end', atMs: Date.parse(state.snoozedUntil), summary: 'snooze ends' });
  }
  if (autoResolveAtMs !== null) candidates.push({ kind: 'auto_resolve', atMs: autoResolveAtMs, summary: 'auto-resolve' });
  return candidates.reduce<Deadline | null>((first, d) => (!first || d.atMs < first.atMs ? d : first), null);
}

/** Current details shown in the Temporal UI (Markdown). */
export function describeState(state: EscalationState, snapshot: EscalationSnapshot): string {
  const levels = snapshot.policy.levels.length;
  return [
    `**${state.status}** · ${snapshot.priority} · rule "${snapshot.ruleName}" (${snapshot.ruleType}, ${snapshot.action})`,
    levels ? `level ${state.level + 1} of ${levels}, pass ${state.pass + 1} of ${snapshot.policy.repeat + 1}${state.exhausted ? ' (all levels timed out)' : ''}` : 'no notification levels',
    state.snoozedUntil ? `snoozed until ${state.snoozedUntil}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}
