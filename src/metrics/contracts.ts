import { isoDateTime, z } from '../zod.js';
import { metricNames } from './store.js';

/** `GET /v1/metrics`: one metric of the project, optionally of one agent, between two instants. */
export const metricQuery = z
  .object({
    name: z.enum(metricNames),
    agentId: z.string().uuid().optional(),
    from: isoDateTime(),
    to: isoDateTime(),
    bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
  })
  .refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['from'] });
export type MetricQueryParams = z.infer<typeof metricQuery>;
