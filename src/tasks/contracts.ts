import { jsonObject, z } from '../zod.js';

/** `POST /v1/agents/:id/tasks`: the input the agent runs on once, and how urgently. */
export const createTaskBody = z
  .object({
    input: z.string().trim().min(1).max(32_000),
    priority: z.enum(['low', 'normal', 'high']).default('normal'),
    metadata: jsonObject.optional(),
  })
  .strict()
  .openapi('CreateTask');
export type CreateTaskBody = z.infer<typeof createTaskBody>;

/** A task as the API shows it: the row with ISO dates (documented loosely, as before). */
export const taskSchema = z.record(z.string(), z.unknown());
