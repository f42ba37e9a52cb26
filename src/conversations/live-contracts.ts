// Contracts of live turns (issue 12): a turn's event log as the API shows it, the turns list, and their queries.
import { z } from '../zod.js';
import { turnEventTypes } from './turn-events.js';

const usage = z.object({ promptTokens: z.number().nullable(), completionTokens: z.number().nullable(), totalTokens: z.number().nullable() });

/** A seq as clients send it back (`Last-Event-ID`, `?after=`): an event's `seq`, or 0 for the start. */
export const seqValue = z.coerce.number().int().min(0).max(2 ** 31 - 1);

/** One event of a turn's log: the JSON of an SSE `data:` line and of one item of the events list. */
export const turnEventSchema = z
  .looseObject({
    seq: z.number().int().min(1).openapi({ description: "The event's place in the turn, from 1 without gaps; the SSE `id:`" }),
    type: z.string().openapi({ description: `One of ${turnEventTypes.join(', ')}; later versions add kinds, so ignore unknown ones` }),
    turnIndex: z.number().int(),
    createdAt: z.string().datetime(),
    bases: z.array(z.string()).optional().openapi({ description: 'knowledge.retrieved: the knowledge bases searched, in priority order' }),
    hits: z.number().int().optional().openapi({ description: 'knowledge.retrieved: how many chunks were found' }),
    text: z.string().optional().openapi({ description: 'message.delta: the next piece of the answer' }),
    attempt: z.number().int().optional().openapi({ description: 'message.reset: the model attempt starting over; tool.*: the try' }),
    name: z.string().optional().openapi({ description: "tool.*: the tool's name" }),
    callId: z.string().optional(),
    ms: z.number().optional().openapi({ description: 'tool.completed / tool.failed: how long the call took' }),
    answer: z.string().optional().openapi({ description: 'turn.completed: the whole answer' }),
    usage: usage.partial().optional(),
    stopReason: z.string().nullable().optional(),
    reason: z.string().optional().openapi({ description: 'turn.failed: why' }),
    partialAnswer: z.string().nullable().optional().openapi({ description: 'turn.canceled: the text written before the cancel' }),
  })
  .openapi('TurnEvent');

export const turnEventsQuery = z.object({
  after: seqValue.optional().openapi({ description: 'Events after this seq; the Last-Event-ID header wins over it' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,10}$/)
    .refine((v) => Number(v) <= 2 ** 31 - 1, 'not a cursor returned by this API')
    .optional()
    .openapi({ description: 'nextCursor of the previous page (JSON list only)' }),
});

export const turnEventsHeaders = z.object({
  'last-event-id': z.string().optional().openapi({ description: 'Resume after this seq (what an SSE client sends on reconnect)' }),
  accept: z.string().optional().openapi({ description: '`text/event-stream` to stream; anything else lists as JSON' }),
});

export const turnEventPageSchema = z.object({ items: z.array(turnEventSchema), nextCursor: z.string().nullable() }).openapi('TurnEventPage');

export const turnStatuses = ['running', 'completed', 'failed', 'canceled'] as const;

export const listTurnsQuery = z.object({ status: z.enum(turnStatuses).optional() });

/** A turn in the turns list: what it did and what it cost, without its texts. */
export const turnSummarySchema = z
  .object({
    index: z.number().int(),
    status: z.enum(turnStatuses),
    workflowId: z.string(),
    model: z.string().nullable(),
    stopReason: z.string().nullable(),
    error: z.string().nullable(),
    usage,
    toolCount: z.number().int().openapi({ description: 'Tool calls the turn made' }),
    escalated: z.boolean(),
    startedAt: z.string().datetime(),
    completedAt: z.string().datetime().nullable(),
    responseTimeMs: z.number().int().nullable(),
    llmTimeMs: z.number().int().nullable(),
  })
  .openapi('TurnSummary');

export type TurnSummary = z.infer<typeof turnSummarySchema>;
