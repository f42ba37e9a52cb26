// Request bodies and filters of the escalation, command and notification API: one zod source for validation, types and OpenAPI.
import { channels, escalationStatuses } from '../../../workflows/contracts/index.js';
import { isoDateTime, z } from '../../zod.js';

/** Filters of `GET /v1/escalations` (the route adds the page fields). */
export const listEventsFilter = z.object({
  status: z.enum(escalationStatuses).optional(),
  agentId: z.string().uuid().optional(),
  ruleId: z.string().uuid().optional(),
  conversationId: z.string().uuid().optional(),
});

/** acknowledge / resolve / ignore: an optional note for the timeline. */
export const commandBody = z.object({ note: z.string().trim().min(1).max(2000).optional() }).strict();
export const snoozeBody = commandBody.extend({ until: isoDateTime() }).strict();

export const manualEscalationBody = z
  .object({ ruleId: z.string().uuid().optional(), reason: z.string().trim().min(1).max(2000) })
  .strict()
  .openapi('ManualEscalation');

export const idempotencyHeader = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });

/** Filters of `GET /v1/notifications`; `unread=true` with `channel=in_app` is the inbox. */
export const listNotificationsFilter = z.object({
  userId: z.string().uuid().optional(),
  channel: z.enum(channels).optional(),
  status: z.enum(['pending', 'sent', 'failed', 'read']).optional(),
  eventId: z.string().uuid().optional(),
  unread: z.enum(['true', 'false']).optional().transform((v) => v === 'true'),
});
