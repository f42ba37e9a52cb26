import { z } from '../zod.js';

/**
 * The events a project can subscribe a URL to. Turn events come from the turn's event log, escalation
 * events from the escalation's recorded state changes, `task.completed` from a task's outcome.
 */
export const webhookEventKinds = [
  'turn.completed',
  'turn.failed',
  'turn.canceled',
  'escalation.opened',
  'escalation.acknowledged',
  'escalation.snoozed',
  'escalation.escalated',
  'escalation.retriggered',
  'escalation.resolved',
  'escalation.ignored',
  'escalation.exhausted',
  'task.completed',
] as const;
export type WebhookEventKind = (typeof webhookEventKinds)[number];

/** `<prefix>.*` matches every kind of that family, including kinds added later. */
export const webhookEventPatterns = ['turn.*', 'escalation.*', 'task.*'] as const;

/** What a subscription's `eventTypes` entry matching `kind` can be: the kind itself or its family's pattern. */
export function patternsMatching(kind: WebhookEventKind): string[] {
  return [kind, `${kind.slice(0, kind.indexOf('.'))}.*`];
}

/** Subscriptions a project may hold: each event fans out to every matching one. */
export const MAX_WEBHOOKS_PER_PROJECT = 20;

export const createWebhookBody = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000),
    eventTypes: z
      .array(z.enum([...webhookEventKinds, ...webhookEventPatterns]))
      .min(1)
      .max(20)
      .transform((kinds) => [...new Set(kinds)])
      .openapi({ description: `Event kinds (${webhookEventKinds.join(', ')}) or patterns (${webhookEventPatterns.join(', ')})` }),
    description: z.string().trim().max(500).optional(),
  })
  .strict()
  .openapi('CreateWebhook');
export type CreateWebhookBody = z.infer<typeof createWebhookBody>;

/** A subscription as the API shows it: never the secret (only the create response carries it, once). */
export const webhookSchema = z
  .object({
    id: z.string().uuid(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    description: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Webhook');

export const createdWebhookSchema = webhookSchema
  .extend({
    secret: z.string().openapi({ description: 'The signing secret (`whsec_` + base64 of 32 bytes). Shown only in this response.' }),
  })
  .openapi('CreatedWebhook');

export const webhookDeliveryStatuses = ['pending', 'delivered', 'failed'] as const;

export const webhookDeliverySchema = z
  .object({
    id: z.string().uuid(),
    subscriptionId: z.string().uuid(),
    eventType: z.string(),
    eventKey: z.string().openapi({ description: 'The idempotency key, sent as Webhook-Id' }),
    payload: z.record(z.string(), z.unknown()),
    status: z.enum(webhookDeliveryStatuses),
    attemptCount: z.number().int(),
    attempts: z.array(
      z.object({ attempt: z.number().int(), at: z.string(), statusCode: z.number().int().optional(), error: z.string().optional(), durationMs: z.number() }),
    ),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('WebhookDelivery');
