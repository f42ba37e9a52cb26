import { randomUUID } from 'node:crypto';
import { findCallLog, listExecutions } from '../../tools/attempt-log.js';
import { connectIntegration, connectionConfig, disconnectIntegration, integrationKind } from '../../tools/integrations-store.js';
import * as registry from '../../tools/store.js';
import { checkToolSchemas, isFunctionCallingCompatible } from '../../tools/schema-check.js';
import { toolTestWorkflowId, type ToolTestInput, type Workflows } from '../../../workflows/contracts/index.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { enforcePlanLimit } from '../../tenancy/plan-limits.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { checkDestinationChange, sealBoundCredentials } from '../../tools/credential-binding.js';
import * as s from '../../tools/contracts.js';
import { effectiveRetryPolicy, type TurnTool } from '../../tools/turn-tools.js';

/**
 * Never includes the sealed credentials or their key id; only whether there are any. `retryPolicy` is the
 * policy the calls run with (defaults filled in), not only the fields the tool set.
 */
export function toolView(row: registry.ToolRow) {
  const { credentialsEncrypted, credentialsKeyId: _k, projectId: _p, integrationId: _i, createdBy: _c, responseFormat: _r, ...rest } = row;
  const retryPolicy = effectiveRetryPolicy(row.retryPolicy as Partial<TurnTool['retry']>);
  return { ...toIso(rest), retryPolicy, hasCredentials: credentialsEncrypted !== null };
}

export function registerToolRoutes({ router, registry: openapi, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Tools';
  const load = async (projectId: string, id: string) => {
    const row = await registry.findTool(db, projectId, id);
    if (!row || row.archivedAt) throw new NotFoundError('tool');
    return row;
  };

  defineRoute(router, openapi, {
    method: 'post', path: '/v1/tools', tag, summary: 'Register a tool', permission: 'tools:write', body: s.createToolBody,
    responses: { 201: { description: 'Created', schema: s.toolSchema } },
    handler: async ({ body, auth }) => {
      checkToolSchemas(body);
      await enforcePlanLimit(db, auth.projectId, 'tools');
      const { credentials, ...fields } = body;
      const sealed = credentials ? sealBoundCredentials(deps.keyring, credentials, fields.toolType, fields.config ?? {}) : {};
      const row = await db.transaction(async (tx) => {
        const kind = integrationKind({ toolType: fields.toolType, authMethod: fields.authMethod ?? 'none' });
        const integrationId = kind
          ? await connectIntegration(tx, { projectId: auth.projectId, kind, name: fields.name, config: connectionConfig(fields.config ?? {}, credentials) })
          : null;
        return registry.createTool(tx, auth.projectId, {
          ...fields, ...sealed, integrationId, aiSdkFormatValid: isFunctionCallingCompatible(fields),
        });
      });
      return { status: 201, body: toolView(row) };
    },
  });

  defineListRoute(router, openapi, {
    path: '/v1/tools', tag, summary: 'List tools', permission: 'tools:read', query: pageQuery.merge(s.listToolsQuery),
    description: 'A page of tools', item: s.toolSchema, view: toolView,
    rows: ({ query, auth }) => registry.listTools(db, auth.projectId, query, query),
  });

  defineRoute(router, openapi, {
    method: 'get', path: '/v1/tools/:id', tag, summary: 'Get a tool', permission: 'tools:read', params: idParams,
    responses: { 200: { description: 'The tool', schema: s.toolSchema } },
    handler: async ({ params, auth }) => ({ status: 200, body: toolView(await load(auth.projectId, params.id)) }),
  });

  defineRoute(router, openapi, {
    method: 'patch', path: '/v1/tools/:id', tag, summary: 'Change a tool (bumps its version)', permission: 'tools:write',
    params: idParams, body: s.updateToolBody,
    responses: { 200: { description: 'The changed tool', schema: s.toolSchema } },
    handler: async ({ params, body, auth }) => {
      const current = await load(auth.projectId, params.id);
      checkToolSchemas(body);
      const { credentials, ...fields } = body;
      const merged = { ...current, ...fields };
      if (credentials === undefined) checkDestinationChange(current, merged);
      const sealed = credentials === undefined
        ? {}
        : credentials === null ? { credentialsEncrypted: null, credentialsKeyId: null } : sealBoundCredentials(deps.keyring, credentials, merged.toolType, merged.config);
      const row = await registry.updateTool(db, auth.projectId, params.id, {
        ...fields, ...sealed, version: current.version + 1, aiSdkFormatValid: isFunctionCallingCompatible(merged),
      });
      return { status: 200, body: toolView(row) };
    },
  });

  defineRoute(router, openapi, {
    method: 'delete', path: '/v1/tools/:id', tag, summary: 'Archive a tool (agents stop seeing it; logs stay)',
    permission: 'tools:write', params: idParams,
    responses: { 200: { description: 'The archived tool', schema: s.toolSchema } },
    handler: async ({ params, auth }) => {
      const current = await load(auth.projectId, params.id);
      const row = await db.transaction(async (tx) => {
        if (current.integrationId) await disconnectIntegration(tx, auth.projectId, current.integrationId);
        return registry.archiveTool(tx, auth.projectId, params.id);
      });
      return { status: 200, body: toolView(row) };
    },
  });

  defineRoute(router, openapi, {
    method: 'post', path: '/v1/tools/:id/test', tag, summary: 'Run a tool once with given arguments (execution type test)',
    permission: 'tools:write', params: idParams, body: s.testToolBody,
    responses: { 200: { description: 'The outcome and its log row', schema: z.object({ ok: z.boolean(), output: z.unknown().optional(), error: z.string().optional(), log: z.unknown() }) } },
    handler: async ({ params, body, auth }) => {
      const row = await load(auth.projectId, params.id);
      const toolCallId = `test_${randomUUID()}`;
      const input: ToolTestInput = { projectId: auth.projectId, toolId: row.id, toolName: row.name, toolCallId, arguments: body.arguments, timeoutMs: row.timeoutMs };
      const result = await deps.temporal.workflow.execute<Workflows['testTool']>('testTool', {
        taskQueue: deps.settings.taskQueue, workflowId: toolTestWorkflowId(row.id, toolCallId), args: [input],
        staticSummary: `Test of tool "${row.name}"`,
      });
      const log = await findCallLog(db, row.id, toolCallId);
      return { status: 200, body: { ...result, log: log ? toIso(log) : null } };
    },
  });

  defineListRoute(router, openapi, {
    path: '/v1/tools/:id/executions', tag, summary: "A tool's execution log, newest first",
    permission: 'tools:read', params: idParams, query: pageQuery, description: 'A page of log rows', view: toIso,
    rows: async ({ params, query, auth }) => {
      await load(auth.projectId, params.id);
      return listExecutions(db, params.id, query);
    },
  });
}
