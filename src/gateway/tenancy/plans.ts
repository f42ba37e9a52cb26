import { ensurePlan, updatePlan } from '../../tenancy/plans-store.js';
import { updatePlanBody } from '../../tenancy/contracts.js';
import type { RouteContext } from '../deps.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

export function registerPlanRoutes({ router, registry, deps }: RouteContext): void {
  defineRoute(router, registry, {
    method: 'get', path: '/v1/plan', tag: 'Plan', operationId: 'getPlan', summary: "The project's plan and limits (null = unlimited)", permission: 'admin',
    responses: { 200: { description: 'The plan' } },
    handler: async ({ auth }) => ({ status: 200, body: toIso(await ensurePlan(deps.db, auth.projectId)) }),
  });
  defineRoute(router, registry, {
    method: 'patch', path: '/v1/plan', tag: 'Plan', summary: "Change the project's plan and limits", permission: 'admin', body: updatePlanBody,
    responses: { 200: { description: 'The plan' } },
    handler: async ({ body, auth }) => ({ status: 200, body: toIso(await updatePlan(deps.db, auth.projectId, body)) }),
  });
}
