import { escalationRule } from '../../db/schema/index.js';
import type { Tx } from '../../db/client.js';
import { checkRule, policySchema } from '../../escalations/contracts/rule-fields.js';
import { describeRuleRuntime, writeRuleWithRuntime } from '../../escalations/rules/rule-runtime.js';
import * as rules from '../../escalations/rules/rule-store.js';
import type { RuleType } from '../../../workflows/contracts/index.js';
import { idParams, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { AppError, ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { createRuleBody, listRulesQuery, ruleSchema, updateRuleBody, type UpdateRuleBody } from '../../escalations/contracts/rule-api.js';

/** Thrown when a rule names an agent, user or template that is not in the caller's project. */
export class InvalidReferenceError extends AppError {
  constructor(missing: rules.RuleReference[]) {
    const details = missing.map((r) => ({ field: `body.${r.field}`, message: `no ${r.kind} with id ${r.id} in this project` }));
    super(400, 'invalid_reference', `invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
  }
}

type RuleInput = Parameters<typeof checkRule>[0];

/** Validates the whole rule (condition against its type, what its action needs); returns the parsed condition. */
function checkedCondition(rule: RuleInput): Record<string, unknown> {
  const result = checkRule(rule);
  if (result.ok) return result.condition;
  const details = result.issues.map((i) => ({ field: ['body', ...i.path].join('.'), message: i.message }));
  throw new ValidationError(`invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
}

/** The stored rule as a request would have given it; a stored policy that no longer parses must be replaced. */
function storedInput(row: rules.RuleRow): RuleInput {
  const policy = policySchema.safeParse(row.policy);
  if (!policy.success) {
    throw new ValidationError('invalid request: body.policy: the stored policy is not valid; send a new one', [
      { field: 'body.policy', message: 'the stored policy is not valid; send a new one' },
    ]);
  }
  return { ruleType: row.ruleType as RuleType, triggerCondition: row.triggerCondition, escalationAction: row.escalationAction, escalationTarget: row.escalationTarget, actionConfig: row.actionConfig, policy: policy.data };
}

/** Every id the given fields refer to, named by its body field. */
function referencesOf(b: UpdateRuleBody): rules.RuleReference[] {
  const refs: rules.RuleReference[] = [];
  if (b.agentId) refs.push({ kind: 'agent', id: b.agentId, field: 'agentId' });
  if (b.escalationTarget) refs.push({ kind: 'user', id: b.escalationTarget, field: 'escalationTarget' });
  if (b.escalationTemplateId) refs.push({ kind: 'template', id: b.escalationTemplateId, field: 'escalationTemplateId' });
  if (b.actionConfig?.agentId) refs.push({ kind: 'agent', id: b.actionConfig.agentId, field: 'actionConfig.agentId' });
  b.policy?.levels.forEach((level, i) =>
    level.targets.forEach((id, j) => refs.push({ kind: 'user', id, field: `policy.levels.${i}.targets.${j}` })),
  );
  for (const [channel, id] of Object.entries(b.policy?.templateIds ?? {})) {
    if (id) refs.push({ kind: 'template', id, field: `policy.templateIds.${channel}` });
  }
  return refs;
}

async function checkReferences(tx: Tx, projectId: string, body: UpdateRuleBody): Promise<void> {
  const missing = await rules.missingReferences(tx, projectId, referencesOf(body));
  if (missing.length > 0) throw new InvalidReferenceError(missing);
}

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

  defineRoute(router, registry, {
    method: 'get', path: '/v1/escalation-rules', tag, summary: 'List escalation rules, newest first', permission: 'escalations:read',
    query: pageQuery.merge(listRulesQuery),
    responses: { 200: { description: 'A page of rules (without runtime)', schema: pageSchema(ruleSchema) } },
    handler: async ({ query, auth }) => {
      const rows = await rules.listRules(db, auth.projectId, query, { ...keyset(escalationRule, query.cursor), limit: query.limit });
      return { status: 200, body: toPage(rows, query.limit, ruleView) };
    },
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
