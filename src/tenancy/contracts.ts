import { isoDateTime, z } from '../zod.js';
import { permissions } from './api-keys.js';

// API keys

export const createApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    permissions: z.array(z.enum(permissions)).min(1),
    expiresAt: isoDateTime().refine((v) => Date.parse(v) > Date.now(), 'must be in the future').optional(),
  })
  .strict()
  .openapi('CreateApiKey');

/** A key as the API shows it: never the hash; the plaintext only in the create response. */
export const apiKeySchema = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The visible start of the key' }),
    permissions: z.array(z.string()),
    isActive: z.boolean(),
    expiresAt: z.string().datetime().nullable(),
    lastUsedAt: z.string().datetime().nullable(),
    revokedAt: z.string().datetime().nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi('ApiKey');
export type ApiKeyView = z.infer<typeof apiKeySchema>;

// Users (escalation targets)

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000);

const userFields = {
  // Lower-cased so one mailbox is one user: the unique index on (project, email) is case-sensitive.
  email: z.string().trim().toLowerCase().max(320).pipe(z.email()).openapi({ type: 'string', format: 'email' }),
  name: z.string().trim().min(1).max(200).nullable(),
  phone: z.string().regex(E164, 'must be an E.164 number such as +14155550123').nullable(),
  webhookUrl: httpUrl.nullable(),
  avatarUrl: httpUrl.nullable(),
};

export const createUserBody = z
  .object(userFields)
  .partial({ name: true, phone: true, webhookUrl: true, avatarUrl: true })
  .strict()
  .openapi('CreateUser');

export const updateUserBody = z
  .object(userFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateUser');

export const userSchema = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    name: z.string().nullable(),
    phone: z.string().nullable(),
    webhookUrl: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('User');

// Plan

// Postgres `integer` columns: a larger limit would be refused there.
const limit = z.number().int().min(0).max(2 ** 31 - 1).nullable();

export const updatePlanBody = z
  .object({ plan: z.enum(['free', 'pro', 'enterprise']), agentLimit: limit, toolLimit: limit, monthlyTurnLimit: limit })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdatePlan');
