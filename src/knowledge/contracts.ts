// The zod schemas of the knowledge API (bodies, params); the gateway routes and the OpenAPI document use them.
import { jsonObject, z } from '../zod.js';

export const assignKnowledgeBody = z
  .object({
    knowledgeBaseId: z.string().uuid(),
    accessLevel: z.enum(['read', 'search', 'full']).optional(),
    priority: z.number().int().min(0).max(1000).optional().openapi({ description: 'Lower numbers are searched first' }),
  })
  .strict()
  .openapi('AssignKnowledgeBase');

export const knowledgeAssignmentParams = z.object({ id: z.string().uuid(), kbId: z.string().uuid() });

export const knowledgeBaseBody = z.object({ name: z.string().trim().min(1).max(200), description: z.string().max(4000).nullable().optional() }).strict();

export const knowledgeBaseUpdateBody = knowledgeBaseBody
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' });

export const textDocumentBody = z
  .object({
    title: z.string().trim().min(1).max(500),
    content: z.string().min(1).max(2_000_000),
    contentType: z.enum(['text/plain', 'text/markdown', 'text/html']).default('text/markdown'),
    tags: z.array(z.string().max(100)).max(50).optional(),
    metadata: jsonObject.optional(),
  })
  .strict()
  .openapi('TextDocument');

export const urlDocumentBody = z
  .object({ url: z.string().url().max(2000).refine((u) => /^https?:\/\//i.test(u), 'http or https only'), title: z.string().trim().min(1).max(500).optional() })
  .strict()
  .openapi('UrlDocument');

/**
 * The fields of a multipart upload, by the JSON route's rules. A blank title (a form's empty input) means
 * "use the file's name", as it always has.
 */
export const uploadFields = z
  .object({ title: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), textDocumentBody.shape.title.optional()) })
  .strict();

export const documentParams = z.object({ id: z.string().uuid(), docId: z.string().uuid() });

export const searchBody = z.object({ query: z.string().trim().min(1).max(1000), limit: z.number().int().min(1).max(50).default(5) }).strict();
