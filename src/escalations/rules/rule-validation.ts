import type { Tx } from '../../db/client.js';
import { AppError, ValidationError } from '../../errors.js';
import type { RuleType } from '../../../workflows/contracts/index.js';
import type { UpdateRuleBody } from '../contracts/rule-api.js';
import { checkRule, policySchema } from '../contracts/rule-fields.js';
import * as rules from './rule-store.js';

// Whole-rule checks made when a rule is written: the condition against its type, what the action needs,
// and that every id it names is a row of the caller's project. Errors name the request field.

/** Thrown when a rule names an agent, user or template that is not in the caller's project. */
export class InvalidReferenceError extends AppError {
  constructor(missing: rules.RuleReference[]) {
    const details = missing.map((r) => ({ field: `body.${r.field}`, message: `no ${r.kind} with id ${r.id} in this project` }));
    super(400, 'invalid_reference', `invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
  }
}

type RuleInput = Parameters<typeof checkRule>[0];

/** Validates the whole rule (condition against its type, what its action needs); returns the parsed condition. */
export function checkedCondition(rule: RuleInput): Record<string, unknown> {
  const result = checkRule(rule);
  if (result.ok) return result.condition;
  const details = result.issues.map((i) => ({ field: ['body', ...i.path].join('.'), message: i.message }));
  throw new ValidationError(`invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
}

/** The stored rule as a request would have given it; a stored policy that no longer parses must be replaced. */
export function storedInput(row: rules.RuleRow): RuleInput {
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

/** Throws `InvalidReferenceError` (400) when the body names an agent, user or template outside the project. */
export async function checkReferences(tx: Tx, projectId: string, body: UpdateRuleBody): Promise<void> {
  const missing = await rules.missingReferences(tx, projectId, referencesOf(body));
  if (missing.length > 0) throw new InvalidReferenceError(missing);
}
