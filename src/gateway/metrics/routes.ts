import { metricQuery, metricWindow } from '../../metrics/contracts.js';
import { aggregateMetrics } from '../../metrics/store.js';
import type { RouteContext } from '../deps.js';
import { defineRoute } from '../route.js';

export function registerMetricRoutes({ router, registry, deps }: RouteContext): void {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/metrics', tag: 'Metrics', summary: 'One metric aggregated into time buckets (count, sum, avg, min, max, p95); by default over the last 24 hours',
    permission: 'agents:read', query: metricQuery,
    responses: { 200: { description: 'Buckets, oldest first' } },
    handler: async ({ query: q, auth }) => ({
      status: 200,
      body: {
        name: q.name,
        bucket: q.bucket,
        buckets: await aggregateMetrics(deps.db, { ...q, projectId: auth.projectId, ...metricWindow(q, new Date()) }),
      },
    }),
  });
}
