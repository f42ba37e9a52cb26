/**
 * How a running turn is stopped from outside: the reason a turn ended, and the signal the gateway sends
 * just before it cancels a turn for the `interrupt` or `rollback` double-texting policy. The signal is
 * recorded in the turn's history before the cancellation, so a worker that crashes in between still reads
 * the reason when the turn replays. Pure definitions: imported by workflow code.
 */
import { defineSignal } from '@temporalio/workflow';

/**
 * Why a turn ended (`agent_execution_history.stop_reason`): `stop` the model answered; `max_steps` / `budget`
 * the step limit / response-time budget ended the loop while the model still wanted tools; `canceled` by
 * `POST …/turns/:index/cancel`; `interrupted` / `rolled_back` by a newer message under that policy.
 */
export const turnStopReasons = ['stop', 'max_steps', 'budget', 'canceled', 'interrupted', 'rolled_back'] as const;
export type TurnStopReason = (typeof turnStopReasons)[number];

/** The stop reasons of a canceled turn. */
export type TurnCancelReason = Extract<TurnStopReason, 'canceled' | 'interrupted' | 'rolled_back'>;

/** Sent right before `handle.cancel()`: the reason the canceled turn records (`canceled` without it). */
export const turnStopSignal = defineSignal<[{ reason: TurnCancelReason }]>('turnStop');
