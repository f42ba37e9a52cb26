// The zod schemas of the knowledge API (bodies, params); the gateway routes and the OpenAPI document use them.
import { z } from '../zod.js';

export const assignKnowledgeBody = z
  .object({
    knowledgeBaseId: z.string().uuid(),
    accessLevel: z.enum(['read', 'search', 'full']).optional(),
    priority: z.number().int().min(0).max(1000).optional().openapi({ description: 'Lower numbers are searched first' }),
  })
  .strict()
  .openapi('AssignKnowledgeBase');

export const knowledgeAssignmentParams = z.object({ id: z.string().uuid(), kbId: z.string().uuid() });
