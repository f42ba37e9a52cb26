// Request and response bodies of the notification template API: one zod source for validation, types and OpenAPI.
import { channels } from '../../../workflows/contracts/index.js';
import { jsonObject, z } from '../../zod.js';

const withinBytes = (max: number) => (s: string) => Buffer.byteLength(s, 'utf8') <= max;
const subjectText = z.string().refine(withinBytes(1024), 'at most 1 KiB');
const bodyText = z.string().min(1).refine(withinBytes(64 * 1024), 'at most 64 KiB');
const messageType = z.enum(channels).openapi({ description: 'The channel the template is written for' });
const variables = jsonObject.openapi({ description: 'Preview values, deep-merged over the sample variables' });

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(4000).nullable(),
  subject: subjectText.nullable().openapi({ description: 'Liquid; required for email' }),
  body: bodyText.openapi({ description: 'Liquid; see NotificationVariables for what it can use' }),
  messageType,
  variables,
};

const subjectRequired = { message: 'required for email templates', path: ['subject'] };

/** False for an e-mail template without a subject (other channels have none). */
export const hasSubject = (t: { messageType?: string; subject?: string | null }) => t.messageType !== 'email' || !!t.subject?.trim();

export const createTemplateBody = z
  .object({ ...fields, messageType: messageType.default('email') })
  .partial({ description: true, subject: true, variables: true })
  .strict()
  .refine(hasSubject, subjectRequired)
  .openapi('CreateEscalationTemplate');

/** Fields given replace the stored ones; the merged template must still have a subject if it is an e-mail. */
export const updateTemplateBody = z
  .object(fields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateEscalationTemplate');

export const previewSavedTemplateBody = z.object({ variables: variables.optional() }).strict().openapi('PreviewEscalationTemplate');
export const previewTemplateTextBody = z
  .object({ subject: subjectText.nullable().optional(), body: bodyText, messageType, variables: variables.optional() })
  .strict()
  .openapi('PreviewEscalationTemplateText');

export const templateSchema = z
  .object({
    id: z.string().uuid(), name: z.string(), description: z.string().nullable(), subject: z.string().nullable(), body: z.string(),
    messageType, variables: jsonObject, createdBy: z.string().uuid().nullable(), createdAt: z.string(), updatedAt: z.string(),
  })
  .openapi('EscalationTemplate');

export const templatePreviewSchema = z.object({ subject: z.string().nullable(), body: z.string() }).openapi('EscalationTemplatePreview');

/** Filters of `GET /v1/escalation-templates` (the route adds the page fields). */
export const listTemplatesFilter = z.object({ messageType: messageType.optional() });
