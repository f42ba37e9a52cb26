import { aggregateMetrics, metricNames } from '../../metrics/store.js';
import { isoDateTime } from '../common.js';
import type { RouteContext } from '../deps.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';

const query = z
  .object({
    name: z.enum(metricNames),
    agentId: z.string().uuid().optional(),
    from: isoDateTime(),
    to: isoDateTime(),
    bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
  })
  .refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['from'] });

export function registerMetricRoutes({ router, registry, deps }: RouteContext): void {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/metrics', tag: 'Metrics', summary: 'One metric aggregated into time buckets (count, sum, avg, min, max, p95)',
    permission: 'agents:read', query,
    responses: { 200: { description: 'Buckets, oldest first' } },
    handler: async ({ query: q, auth }) => ({
      status: 200,
      body: {
        name: q.name,
        bucket: q.bucket,
        buckets: await aggregateMetrics(deps.db, { ...q, projectId: auth.projectId, from: new Date(q.from), to: new Date(q.to) }),
      },
    }),
  });
}
