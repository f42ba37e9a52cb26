import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { EscalationCommand, EscalationState } from './escalation.js';

/**
 * Updates a person sends to a running escalation; each answers with the state after the change, so the
 * API replies only once the workflow has taken it. Repeating one (acknowledging twice) is harmless.
 */
export const acknowledgeUpdate = defineUpdate<EscalationState, [EscalationCommand]>('acknowledge');
export const resolveUpdate = defineUpdate<EscalationState, [EscalationCommand]>('resolve');
export const ignoreUpdate = defineUpdate<EscalationState, [EscalationCommand]>('ignore');
export const snoozeUpdate = defineUpdate<EscalationState, [EscalationCommand]>('snooze');
export const escalationStateQuery = defineQuery<EscalationState>('state');
