// Request and response bodies of the conversation API: one zod source for validation, types and OpenAPI.
import { jsonObject, z } from '../zod.js';

export const createConversationBody = z
  .object({
    agentId: z.string().uuid(),
    externalUserId: z.string().trim().min(1).max(200).optional(),
    title: z.string().trim().min(1).max(500).optional(),
    metadata: jsonObject.optional(),
  })
  .strict()
  .openapi('CreateConversation');

export const updateConversationBody = z
  .object({
    title: z.string().trim().min(1).max(500).nullable(),
    status: z.enum(['active', 'paused']),
    context: jsonObject,
    /** Merged over the stored variables; a null value removes that variable. */
    variables: jsonObject,
    metadata: jsonObject,
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateConversation');

export const listConversationsQuery = z.object({
  agentId: z.string().uuid().optional(),
  status: z.enum(['active', 'paused', 'completed', 'failed']).optional(),
  externalUserId: z.string().max(200).optional(),
});

export const conversationSchema = z
  .object({
    id: z.string().uuid(),
    projectId: z.string().uuid(),
    agentId: z.string().uuid(),
    externalUserId: z.string().nullable(),
    title: z.string().nullable(),
    status: z.enum(['active', 'paused', 'completed', 'failed']),
    context: jsonObject,
    variables: jsonObject,
    metadata: jsonObject,
    summary: z.string().nullable(),
    lastTurnIndex: z.number().int(),
    turnCount: z.number().int(),
    messagesCount: z.number().int(),
    lastActivityAt: z.string().datetime(),
    endedAt: z.string().datetime().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi('Conversation');

export const sendMessageBody = z
  .object({ content: z.string().trim().min(1).max(32_000) })
  .strict()
  .openapi('SendMessage');

export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: 'Retries with the same key attach to the same turn instead of starting another' }),
});

export const turnParams = z.object({ id: z.string().uuid(), index: z.coerce.number().int().min(1).max(2 ** 31 - 1) });

export const feedbackBody = z
  .object({ satisfaction: z.number().int().min(1).max(5), text: z.string().max(4000).optional() })
  .strict()
  .openapi('TurnFeedback');

export const messageSchema = z
  .object({
    id: z.string().uuid(),
    turnIndex: z.number().int(),
    role: z.enum(['user', 'assistant', 'system', 'tool']),
    content: z.string(),
    createdAt: z.string().datetime(),
  })
  .openapi('Message');

export const turnSchema = z
  .object({
    index: z.number().int(),
    status: z.enum(['pending', 'running', 'completed', 'failed', 'canceled']),
    workflowId: z.string(),
    /** The turn's OpenTelemetry trace id (32 hex digits) when tracing was on; look it up in Jaeger/Tempo. */
    traceId: z.string().nullable(),
    userInput: z.string().nullable(),
    agentResponse: z.string().nullable(),
    error: z.string().nullable(),
    model: z.string().nullable(),
    usage: z.object({ promptTokens: z.number().nullable(), completionTokens: z.number().nullable(), totalTokens: z.number().nullable() }),
    toolsUsed: z.array(z.unknown()),
    knowledgeSources: z.array(z.unknown()),
    escalated: z.boolean(),
    escalationRuleId: z.string().uuid().nullable(),
    escalationReason: z.string().nullable(),
    responseTimeMs: z.number().int().nullable(),
    llmTimeMs: z.number().int().nullable(),
    userSatisfaction: z.number().int().nullable(),
    feedbackText: z.string().nullable(),
    startedAt: z.string().datetime().nullable(),
    completedAt: z.string().datetime().nullable(),
    /** Why the turn ended: stop, max_steps, budget, canceled, interrupted, rolled_back (null while running). */
    stopReason: z.string().nullable(),
    /** A canceled turn's text so far (never an assistant message). */
    partialAnswer: z.string().nullable(),
  })
  .openapi('Turn');

// A union, not `.nullable()`: zod-to-openapi gives `.nullable()` the component's name, so the shared Message
// component itself became nullable, and with it every item of the message list.
export const turnReplySchema = z.object({ turn: turnSchema, message: z.union([messageSchema, z.null()]) }).openapi('TurnReply');
export const turnAcceptedSchema = z.object({ turn: turnSchema, pollUrl: z.string() }).openapi('TurnAccepted');
export const turnCanceledSchema = z.object({ turn: turnSchema }).openapi('TurnCancelRequested');

export type CreateConversationBody = z.infer<typeof createConversationBody>;
export type UpdateConversationBody = z.infer<typeof updateConversationBody>;
export type ListConversationsQuery = z.infer<typeof listConversationsQuery>;
export type Conversation = z.infer<typeof conversationSchema>;
export type SendMessageBody = z.infer<typeof sendMessageBody>;
export type FeedbackBody = z.infer<typeof feedbackBody>;
export type Message = z.infer<typeof messageSchema>;
export type Turn = z.infer<typeof turnSchema>;
