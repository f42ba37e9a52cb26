import { ValidationError } from '../errors.js';
import { isoDateTime, z } from '../zod.js';
import { metricNames } from './store.js';

/** The window when the request names no `from`: the 24 hours before `to`. */
export const DEFAULT_METRIC_WINDOW_MS = 24 * 3600_000;

/** `GET /v1/metrics`: one metric of the project, optionally of one agent, between two instants (by default the last 24 hours). */
export const metricQuery = z
  .object({
    name: z.enum(metricNames),
    agentId: z.string().uuid().optional(),
    from: isoDateTime().optional(),
    to: isoDateTime().optional(),
    bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['from'] });
export type MetricQueryParams = z.infer<typeof metricQuery>;

/**
 * The instants a query covers: `to` defaults to now and `from` to 24 hours before `to`.
 * @throws ValidationError when a given `from` is not before the (default) `to`.
 */
export function metricWindow(q: Pick<MetricQueryParams, 'from' | 'to'>, now: Date): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : now;
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - DEFAULT_METRIC_WINDOW_MS);
  if (from >= to) throw new ValidationError('invalid request: query.from: from must be before to', [{ field: 'query.from', message: 'from must be before to' }]);
  return { from, to };
}
