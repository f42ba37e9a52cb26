// The zod schemas of the tools API (bodies, queries, views); the gateway routes and the OpenAPI document use them.
import { jsonObject, z } from '../zod.js';
import { TOOL_NAME } from './schema-check.js';

export const toolTypes = ['api', 'webhook', 'javascript', 'database', 'mcp'] as const;
export const toolCategories = ['data_source', 'processor', 'visualization', 'action', 'integration'] as const;
export const authMethods = ['none', 'api_key', 'bearer', 'basic', 'oauth2', 'connection_string'] as const;

/** Write-only: sealed with AES-256-GCM before storage, never returned, never logged. */
export const credentialsSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('api_key'), value: z.string().min(1), in: z.enum(['header', 'query']).optional(), name: z.string().min(1).optional() }),
    z.object({ type: z.literal('bearer'), token: z.string().min(1) }),
    z.object({ type: z.literal('basic'), username: z.string(), password: z.string() }),
    z.object({ type: z.literal('oauth2'), tokenUrl: z.string().url(), clientId: z.string().min(1), clientSecret: z.string().min(1), scope: z.string().optional() }),
    z.object({ type: z.literal('connection_string'), url: z.string().min(1) }),
  ])
  .openapi('ToolCredentials', { description: 'Write-only; never returned' });

const retryPolicyFields = z.object({
  maximumAttempts: z.number().int().min(1).max(20),
  initialIntervalMs: z.number().int().min(10).max(600_000),
  backoffCoefficient: z.number().min(1).max(10),
  maximumIntervalMs: z.number().int().min(10).max(3_600_000),
});

/** What a tool may set; the fields left out take `defaultToolRetry` (src/tools/turn-tools.ts). */
export const retryPolicySchema = retryPolicyFields.partial().strict();

const toolFields = {
  name: z.string().regex(TOOL_NAME, 'letters, digits, "_" and "-", at most 64 (a function name the model can call)'),
  description: z.string().max(4000).nullable(),
  category: z.enum(toolCategories),
  toolType: z.enum(toolTypes),
  inputSchema: jsonObject,
  outputSchema: jsonObject.nullable(),
  config: jsonObject,
  apiEndpoint: z.string().url().nullable(),
  authMethod: z.enum(authMethods),
  timeoutMs: z.number().int().min(100).max(300_000),
  retryPolicy: retryPolicySchema,
  documentation: z.string().max(50_000).nullable(),
  exampleUsage: jsonObject.nullable(),
  status: z.enum(['draft', 'active', 'deprecated']),
};

export const createToolBody = z
  .object({ ...toolFields, credentials: credentialsSchema.optional() })
  .partial({ description: true, outputSchema: true, config: true, apiEndpoint: true, authMethod: true, timeoutMs: true, retryPolicy: true, documentation: true, exampleUsage: true, status: true })
  .strict()
  .openapi('CreateTool');

export const updateToolBody = z
  .object({ ...toolFields, credentials: credentialsSchema.nullable() })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateTool');

export const toolSchema = z
  .object({
    id: z.string().uuid(),
    ...toolFields,
    retryPolicy: retryPolicyFields.openapi('ToolRetryPolicy', { description: 'The policy the calls run with: what the tool set, defaults for the rest' }),
    hasCredentials: z.boolean(),
    version: z.number().int(),
    aiSdkFormatValid: z.boolean(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
    archivedAt: z.string().datetime().nullable(),
  })
  .openapi('Tool');

export const listToolsQuery = z.object({
  status: z.enum(['draft', 'active', 'deprecated']).optional(),
  toolType: z.enum(toolTypes).optional(),
  category: z.enum(toolCategories).optional(),
});

export const testToolBody = z.object({ arguments: jsonObject }).strict().openapi('TestTool');

export const assignmentBody = z
  .object({
    toolId: z.string().uuid(),
    accessLevel: z.enum(['read', 'write', 'execute']).optional(),
    toolConfigOverride: jsonObject.nullable().optional(),
    rateLimit: z.number().int().min(1).max(1_000_000).nullable().optional(),
  })
  .strict()
  .openapi('AssignTool');

export const assignmentUpdateBody = assignmentBody
  .omit({ toolId: true })
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' });

export const assignmentSchema = z
  .object({
    id: z.string().uuid(),
    agentId: z.string().uuid(),
    toolId: z.string().uuid(),
    accessLevel: z.enum(['read', 'write', 'execute']),
    toolConfigOverride: jsonObject.nullable(),
    rateLimit: z.number().int().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi('ToolAssignment');
