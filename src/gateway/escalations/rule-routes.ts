import type { Tx } from '../../db/client.js';
import { createRuleBody, listRulesQuery, ruleSchema, updateRuleBody } from '../../escalations/contracts/rule-api.js';
import { describeRuleRuntime, writeRuleWithRuntime } from '../../escalations/rules/rule-runtime.js';
import * as rules from '../../escalations/rules/rule-store.js';
import { checkedCondition, checkReferences, storedInput } from '../../escalations/rules/rule-validation.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const ruleView = (row: rules.RuleRow) => toIso(row);

/**
 * Escalation rules. Writing one also sets up what runs it in Temporal (a monitor workflow for threshold
 * rules, a Schedule for scheduled ones) inside the same transaction; see `writeRuleWithRuntime`.
 * References to another project's rows are 400 `invalid_reference` naming the field, like validation.
 */
export function registerEscalationRuleRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Escalation rules';
  const runtime = { db, temporal: deps.temporal, taskQueue: deps.settings.taskQueue, logger: deps.logger };
  const load = async (tx: Tx, projectId: string, id: string) => {
    const row = await rules.findRule(tx, projectId, id, { lock: true });
    if (!row) throw new NotFoundError('escalation rule');
    return row;
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-rules', tag, summary: 'Create an escalation rule', permission: 'escalations:write',
    body: createRuleBody,
    responses: { 201: { description: 'Created', schema: ruleSchema }, 503: { description: 'Temporal unavailable; nothing was saved' } },
    handler: async ({ body, auth }) => {
      const triggerCondition = checkedCondition(body);
      const row = await writeRuleWithRuntime(runtime, async (tx) => {
        await checkReferences(tx, auth.projectId, body);
        return { previous: null, next: await rules.insertRule(tx, auth.projectId, { ...body, triggerCondition }) };
      });
      return { status: 201, body: ruleView(row!), headers: { Location: `/v1/escalation-rules/${row!.id}` } };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/escalation-rules', tag, summary: 'List escalation rules, newest first', permission: 'escalations:read',
    query: pageQuery.merge(listRulesQuery),
    description: 'A page of rules (without runtime)', item: ruleSchema, view: ruleView,
    rows: ({ query, auth }) => rules.listRules(db, auth.projectId, query, query),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/escalation-rules/:id', tag, summary: 'Get a rule with what runs it in Temporal', permission: 'escalations:read',
    params: idParams, responses: { 200: { description: 'The rule', schema: ruleSchema } },
    handler: async ({ params, auth }) => {
      const row = await rules.findRule(db, auth.projectId, params.id);
      if (!row) throw new NotFoundError('escalation rule');
      return { status: 200, body: { ...ruleView(row), runtime: await describeRuleRuntime(deps.temporal, row) } };
    },
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/escalation-rules/:id', tag, summary: 'Change a rule (the result is validated whole)', permission: 'escalations:write',
    params: idParams, body: updateRuleBody,
    responses: { 200: { description: 'The changed rule', schema: ruleSchema }, 503: { description: 'Temporal unavailable; nothing was changed' } },
    handler: async ({ params, body, auth }) => {
      const row = await writeRuleWithRuntime(runtime, async (tx) => {
        const previous = await load(tx, auth.projectId, params.id);
        const triggerCondition = checkedCondition({ ...storedInput(previous), ...body });
        await checkReferences(tx, auth.projectId, body);
        return { previous, next: await rules.updateRule(tx, previous.id, { ...body, triggerCondition }) };
      });
      return { status: 200, body: ruleView(row!) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/escalation-rules/:id', tag, summary: 'Delete a rule with no open escalations (its closed events go with it)',
    permission: 'escalations:write', params: idParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'The rule has open escalations (rule_has_open_escalations)' } },
    handler: async ({ params, auth }) => {
      await writeRuleWithRuntime(runtime, async (tx) => {
        const previous = await load(tx, auth.projectId, params.id);
        const open = await rules.countOpenEvents(tx, previous.id);
        if (open > 0) {
          throw new ConflictError('rule_has_open_escalations', `the rule has ${open} open escalation(s); resolve or ignore them, or set the rule inactive`);
        }
        await rules.deleteRule(tx, previous.id);
        return { previous, next: null };
      });
      return { status: 204 };
    },
  });
}
