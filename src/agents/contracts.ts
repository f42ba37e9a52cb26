// Request and response bodies of the agent API: one zod source for validation, types and OpenAPI.
import { jsonObject, z } from '../zod.js';
import { knownConfigKeys } from './settings.js';

const agentFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(4000).nullable(),
  avatarUrl: z.string().url().max(2000).nullable(),
  agentType: z.string().trim().min(1).max(100).openapi({ example: 'customer-service' }),
  goal: z.string().trim().min(1).max(4000),
  systemPrompt: z.string().max(50_000),
  firstMessage: z.string().max(4000).nullable(),
  language: z.string().trim().min(2).max(10),
  model: z.string().trim().min(1).max(200).nullable(),
  temperature: z.number().min(0).max(2).nullable(),
  maxTokens: z.number().int().min(1).max(200_000).nullable(),
  capabilities: z.array(z.string().min(1).max(100)).max(100),
  successMetrics: jsonObject,
  metadata: jsonObject,
  isTemplate: z.boolean(),
};

/** Statuses a client may set; `archived` only comes from DELETE. */
export const settableStatus = z.enum(['active', 'paused', 'inactive']);

export const createAgentBody = z
  .object({
    ...agentFields,
    description: agentFields.description.optional(),
    avatarUrl: agentFields.avatarUrl.optional(),
    agentType: agentFields.agentType.optional(),
    systemPrompt: agentFields.systemPrompt.optional(),
    firstMessage: agentFields.firstMessage.optional(),
    language: agentFields.language.optional(),
    model: agentFields.model.optional(),
    temperature: agentFields.temperature.optional(),
    maxTokens: agentFields.maxTokens.optional(),
    capabilities: agentFields.capabilities.optional(),
    successMetrics: agentFields.successMetrics.optional(),
    metadata: agentFields.metadata.optional(),
    isTemplate: agentFields.isTemplate.optional(),
    status: settableStatus.optional(),
  })
  .strict()
  .openapi('CreateAgent');

export const updateAgentBody = z
  .object({ ...agentFields, status: settableStatus })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateAgent');

export const cloneAgentBody = z
  .object({ name: agentFields.name.optional(), isTemplate: z.boolean().optional() })
  .strict()
  .openapi('CloneAgent');

export const listAgentsQuery = z.object({
  status: z.enum(['active', 'paused', 'inactive', 'archived']).optional(),
  isTemplate: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
});

export const agentSchema = z
  .object({
    id: z.string().uuid(),
    projectId: z.string().uuid(),
    ...agentFields,
    status: z.enum(['active', 'paused', 'inactive', 'archived']),
    templateParentId: z.string().uuid().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
    archivedAt: z.string().datetime().nullable(),
  })
  .openapi('Agent');

export const configParams = z.object({ id: z.string().uuid(), key: z.string().min(1).max(100) });
/** What `PUT /v1/agents/:id/config/:key` accepts, per key, for the OpenAPI document (validated by `knownConfigKeys`). */
const configValueDescription =
  'The value, JSON, checked against the key: `double_texting` (a message while a turn runs) is one of ' +
  `${knownConfigKeys.double_texting.options.map((o) => `\`${o}\``).join(', ')}; ` +
  'numbers for `temperature`, `max_tokens`, `history_window`, `max_steps`, `response_time_budget_ms`, `idle_timeout_seconds`; ' +
  'a string for `model`; a boolean for `variables_tool`; anything for `custom.*` keys.';
export const configValueBody = z
  .object({ value: z.unknown().refine((v) => v !== undefined, 'value is required') })
  .strict()
  .openapi({ description: configValueDescription });
export const configEntrySchema = z
  .object({ key: z.string(), value: z.unknown(), updatedAt: z.string().datetime() })
  .openapi('AgentConfigEntry');

export type CreateAgentBody = z.infer<typeof createAgentBody>;
export type UpdateAgentBody = z.infer<typeof updateAgentBody>;
export type CloneAgentBody = z.infer<typeof cloneAgentBody>;
export type ListAgentsQuery = z.infer<typeof listAgentsQuery>;
export type Agent = z.infer<typeof agentSchema>;
export type AgentConfigEntry = z.infer<typeof configEntrySchema>;
