import { priorities, ruleTypes } from '../../../workflows/contracts/index.js';
import { actionConfigSchema, defaultPolicy, policySchema, ruleFields } from './rule-fields.js';
import { z } from '../../zod.js';

/**
 * Optional on create, with these defaults. `triggerCondition` is checked against `ruleType` after
 * parsing (see `checkRule`), so its errors name the same `body.triggerCondition.*` fields.
 */
export const createRuleBody = z
  .object({
    ...ruleFields,
    description: ruleFields.description.default(null),
    triggerCondition: ruleFields.triggerCondition.default({}),
    triggerEvents: ruleFields.triggerEvents.default([]),
    escalationTarget: ruleFields.escalationTarget.default(null),
    escalationTemplateId: ruleFields.escalationTemplateId.default(null),
    actionConfig: ruleFields.actionConfig.default(null),
    policy: ruleFields.policy.default(defaultPolicy),
    priority: ruleFields.priority.default('medium'),
    status: ruleFields.status.default('active'),
  })
  .strict()
  .openapi('CreateEscalationRule');

export type CreateRuleBody = z.infer<typeof createRuleBody>;

/** Fields given replace the stored ones whole (a new policy or condition is not merged into the old). */
export const updateRuleBody = z
  .object(ruleFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateEscalationRule');

export type UpdateRuleBody = z.infer<typeof updateRuleBody>;

export const listRulesQuery = z.object({
  agentId: z.string().uuid().optional(),
  ruleType: z.enum(ruleTypes).optional(),
  status: z.enum(['active', 'inactive']).optional(),
});

const runtimeSchema = z
  .union([
    z.object({ monitorWorkflowId: z.string(), monitorStatus: z.string().openapi({ description: 'Temporal status, or NOT_FOUND' }) }),
    z.object({
      scheduleId: z.string(),
      scheduleStatus: z.enum(['ACTIVE', 'PAUSED', 'NOT_FOUND']),
      paused: z.boolean().nullable(),
      nextActionTimes: z.array(z.string()),
    }),
  ])
  .nullable()
  .openapi('EscalationRuleRuntime', { description: 'Threshold: the monitor workflow. Scheduled: the Temporal Schedule. Others: null.' });

export const ruleSchema = z
  .object({
    id: z.string().uuid(),
    projectId: z.string().uuid(),
    agentId: z.string().uuid(),
    createdBy: z.string().uuid().nullable(),
    name: z.string(),
    description: z.string().nullable(),
    ruleType: z.enum(ruleTypes),
    triggerCondition: z.record(z.string(), z.unknown()).openapi({ description: 'As parsed, with defaults applied' }),
    triggerEvents: z.array(z.string()),
    escalationAction: ruleFields.escalationAction,
    escalationTarget: z.string().uuid().nullable(),
    escalationTemplateId: z.string().uuid().nullable(),
    actionConfig: actionConfigSchema.nullable(),
    policy: policySchema,
    priority: z.enum(priorities),
    status: z.enum(['active', 'inactive']),
    createdAt: z.string(),
    updatedAt: z.string(),
    runtime: runtimeSchema.optional().openapi({ description: 'Only on GET /v1/escalation-rules/:id' }),
  })
  .openapi('EscalationRule');
