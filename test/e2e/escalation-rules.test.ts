import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import { count, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { escalationEvent, escalationRule, escalationTemplate } from '../../src/db/schema';
import { syncRuleRuntime } from '../../src/escalations/rules/rule-runtime';
import { searchAttributes } from '../../workflows/contracts/index';
import { stackPerFile } from '../support/file-stack';
import { apiClient } from '../support/http';
import { startGateway, testProject, type Stack } from '../support/stack';

let stack: Stack;
stackPerFile((s) => (stack = s));

/** A project with an agent, a person and a template, and an API client for it. */
async function setup() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'Support', goal: 'help', systemPrompt: 'Be kind.' })).body;
  const user = (await api('POST', '/v1/users', { email: `oncall-${randomUUID()}@example.com` })).body;
  const [template] = await stack.db.db
    .insert(escalationTemplate)
    .values({ projectId: project.projectId, name: 'Page', body: 'Rule {{ rule.name }} fired', messageType: 'email' })
    .returning();
  return { api, adminKey: project.adminKey, projectId: project.projectId, agentId: agent.id as string, userId: user.id as string, templateId: template!.id };
}

type Setup = Awaited<ReturnType<typeof setup>>;

function rule(s: Setup, fields: Record<string, unknown>) {
  return { name: 'Rule', agentId: s.agentId, ruleType: 'manual', escalationAction: 'notify', escalationTarget: s.userId, ...fields };
}

async function ruleCount(projectId: string): Promise<number> {
  const [row] = await stack.db.db.select({ n: count() }).from(escalationRule).where(eq(escalationRule.projectId, projectId));
  return row!.n;
}

function fields(res: { body: { error?: { details?: { field: string }[] } } }): string[] {
  return (res.body.error?.details ?? []).map((d) => d.field);
}

const monitor = (ruleId: string) => stack.temporal.client.workflow.getHandle(`threshold:${ruleId}`);
const schedule = (ruleId: string) => stack.temporal.client.schedule.getHandle(`rule:${ruleId}`);

async function monitorStatus(ruleId: string): Promise<string> {
  try {
    return (await monitor(ruleId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'NOT_FOUND';
    throw err;
  }
}

const threshold = { metric: 'turn_errors', threshold: 3, windowSeconds: 300 };

describe('escalation rules: validation', () => {
  it('creates one rule of each type with the defaults applied', async () => {
    const s = await setup();
    const deviation = await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'deviation', triggerCondition: { keywords: ['refund'], regex: 'cancel+ed' } }));
    expect(deviation.status).toBe(201);
    expect(deviation.body).toMatchObject({
      ruleType: 'deviation', status: 'active', priority: 'medium', description: null, triggerEvents: [], actionConfig: null,
      triggerCondition: { keywords: ['refund'], regex: 'cancel+ed' },
      policy: { levels: [], repeat: 0, retriggerAfterSeconds: null, autoResolveAfterSeconds: null, snoozeUntil: null, templateIds: {} },
    });
    const thresholdRule = await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', triggerCondition: threshold, status: 'inactive' }));
    expect(thresholdRule.status).toBe(201);
    expect(thresholdRule.body.triggerCondition).toEqual({ ...threshold, operator: 'gt', intervalSeconds: 60, cooldownSeconds: 900, minSamples: 1 });
    const manual = await s.api('POST', '/v1/escalation-rules', rule(s, { escalationAction: 'execute_workflow', escalationTarget: null, actionConfig: { workflow: 'agent_task', input: 'Look into {{ event.reason }}' } }));
    expect(manual.status).toBe(201);
    expect(manual.body).toMatchObject({ triggerCondition: {}, actionConfig: { workflow: 'agent_task', input: 'Look into {{ event.reason }}', priority: 'normal' } });
    const badInput = await s.api('POST', '/v1/escalation-rules', rule(s, { escalationAction: 'execute_workflow', escalationTarget: null, actionConfig: { workflow: 'agent_task', input: 'Look into {{ reason }}' } }));
    expect(badInput.status).toBe(400);
    expect(badInput.body.error.details.map((d: { field: string }) => d.field)).toContain('body.actionConfig.input');
    const scheduled = await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'scheduled', status: 'inactive', triggerCondition: { schedule: { cron: '0 9 * * *' }, condition: { type: 'always' } } }));
    expect(scheduled.status).toBe(201);
    expect(scheduled.body.triggerCondition).toEqual({ schedule: { cron: '0 9 * * *', timezone: 'UTC' }, condition: { type: 'always' } });
    await schedule(scheduled.body.id).delete();

    const stored = (await s.api('GET', `/v1/escalation-rules/${thresholdRule.body.id}`)).body;
    expect(stored.triggerCondition).toEqual(thresholdRule.body.triggerCondition);
    const list = await s.api('GET', '/v1/escalation-rules?limit=3');
    expect(list.body.items.map((r: { ruleType: string }) => r.ruleType)).toEqual(['scheduled', 'manual', 'threshold']);
    expect(list.body.items[0]).not.toHaveProperty('runtime');
    expect((await s.api('GET', `/v1/escalation-rules?limit=3&cursor=${list.body.nextCursor}`)).body.items).toHaveLength(1);
    expect((await s.api('GET', '/v1/escalation-rules?ruleType=threshold')).body.items.map((r: { id: string }) => r.id)).toEqual([thresholdRule.body.id]);
    expect((await s.api('GET', '/v1/escalation-rules?status=active')).body.items.map((r: { id: string }) => r.id)).toEqual([manual.body.id, deviation.body.id]);
    expect((await s.api('GET', `/v1/escalation-rules?agentId=${randomUUID()}`)).body.items).toEqual([]);
  });

  it('answers 400 naming the bad field, and writes nothing', async () => {
    const s = await setup();
    const cases: [string, Record<string, unknown>, string][] = [
      ['threshold without metric', { ruleType: 'threshold', triggerCondition: { threshold: 1, windowSeconds: 60 } }, 'body.triggerCondition.metric'],
      ['threshold window of 0 s', { ruleType: 'threshold', triggerCondition: { ...threshold, windowSeconds: 0 } }, 'body.triggerCondition.windowSeconds'],
      ['deviation with no condition', { ruleType: 'deviation', triggerCondition: {} }, 'body.triggerCondition'],
      ['deviation with a bad regex', { ruleType: 'deviation', triggerCondition: { regex: '(unclosed' } }, 'body.triggerCondition.regex'],
      ['scheduled with a bad cron', { ruleType: 'scheduled', triggerCondition: { schedule: { cron: 'every day' }, condition: { type: 'always' } } }, 'body.triggerCondition.schedule.cron'],
      ['scheduled with an unknown zone', { ruleType: 'scheduled', triggerCondition: { schedule: { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons' }, condition: { type: 'always' } } }, 'body.triggerCondition.schedule.timezone'],
      ['scheduled without condition', { ruleType: 'scheduled', triggerCondition: { schedule: { intervalSeconds: 60 } } }, 'body.triggerCondition.condition'],
      ['manual with extra keys', { triggerCondition: { keywords: ['x'] } }, 'body.triggerCondition'],
      ['notify with neither target nor levels', { escalationTarget: null }, 'body.escalationTarget'],
      ['execute_workflow without actionConfig', { escalationAction: 'execute_workflow' }, 'body.actionConfig'],
      ['level without channels', { policy: { levels: [{ targets: [s.userId], channels: [], ackTimeoutSeconds: 60 }] } }, 'body.policy.levels.0.channels'],
      ['unknown field', { colour: 'red' }, 'body'],
    ];
    for (const [what, body, field] of cases) {
      const res = await s.api('POST', '/v1/escalation-rules', rule(s, body));
      expect(res.status, what).toBe(400);
      expect(res.body.error.code, what).toBe('validation_failed');
      expect(fields(res), what).toContain(field);
    }
    expect(await ruleCount(s.projectId)).toBe(0);
  });

  it("refuses another project's agent, user or template (400 invalid_reference) and writes nothing", async () => {
    const s = await setup();
    const other = await setup();
    const level = (targets: string[]) => ({ levels: [{ targets, channels: ['email'], ackTimeoutSeconds: 60 }] });
    const cases: [Record<string, unknown>, string][] = [
      [{ agentId: other.agentId }, 'body.agentId'],
      [{ escalationTarget: other.userId }, 'body.escalationTarget'],
      [{ escalationTemplateId: other.templateId }, 'body.escalationTemplateId'],
      [{ policy: level([s.userId, other.userId]) }, 'body.policy.levels.0.targets.1'],
      [{ policy: { templateIds: { email: s.templateId, sms: other.templateId } } }, 'body.policy.templateIds.sms'],
      [{ escalationAction: 'execute_workflow', actionConfig: { workflow: 'agent_task', input: 'x', agentId: other.agentId } }, 'body.actionConfig.agentId'],
    ];
    for (const [body, field] of cases) {
      const res = await s.api('POST', '/v1/escalation-rules', rule(s, body));
      expect(res.status, field).toBe(400);
      expect(res.body.error.code, field).toBe('invalid_reference');
      expect(fields(res), field).toEqual([field]);
    }
    expect(await ruleCount(s.projectId)).toBe(0);

    const mine = (await s.api('POST', '/v1/escalation-rules', rule(s, { escalationTemplateId: s.templateId, policy: level([s.userId]) }))).body;
    const patched = await s.api('PATCH', `/v1/escalation-rules/${mine.id}`, { escalationTarget: other.userId });
    expect(patched.status).toBe(400);
    expect(fields(patched)).toEqual(['body.escalationTarget']);
    expect((await s.api('GET', `/v1/escalation-rules/${mine.id}`)).body.escalationTarget).toBe(s.userId);
  });

  it("answers 404 for another project's rule", async () => {
    const s = await setup();
    const other = await setup();
    const theirs = (await other.api('POST', '/v1/escalation-rules', rule(other, {}))).body;
    expect((await s.api('GET', `/v1/escalation-rules/${theirs.id}`)).status).toBe(404);
    expect((await s.api('PATCH', `/v1/escalation-rules/${theirs.id}`, { name: 'mine now' })).status).toBe(404);
    expect((await s.api('DELETE', `/v1/escalation-rules/${theirs.id}`)).status).toBe(404);
    expect((await other.api('GET', `/v1/escalation-rules/${theirs.id}`)).body.name).toBe('Rule');
  });

  it('validates the merged rule on PATCH', async () => {
    const s = await setup();
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'deviation', triggerCondition: { askHuman: true } }))).body;
    const noTarget = await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { escalationTarget: null });
    expect(fields(noTarget)).toEqual(['body.escalationTarget']);
    const wrongType = await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { ruleType: 'threshold' });
    expect(fields(wrongType)).toContain('body.triggerCondition.metric');
    const ok = await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { priority: 'critical', triggerCondition: { toolFailure: true } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ priority: 'critical', triggerCondition: { toolFailure: true }, escalationTarget: s.userId });
  });

  it('deletes a rule only when none of its escalations is open', async () => {
    const s = await setup();
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, {}))).body;
    const [event] = await stack.db.db
      .insert(escalationEvent)
      .values({ projectId: s.projectId, escalationRuleId: created.id, agentId: s.agentId, eventType: 'manual' })
      .returning();
    const refused = await s.api('DELETE', `/v1/escalation-rules/${created.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('rule_has_open_escalations');
    await stack.db.db.update(escalationEvent).set({ status: 'resolved' }).where(eq(escalationEvent.id, event!.id));
    expect((await s.api('DELETE', `/v1/escalation-rules/${created.id}`)).status).toBe(204);
    expect((await s.api('GET', `/v1/escalation-rules/${created.id}`)).status).toBe(404);
    expect(await stack.db.db.select().from(escalationEvent).where(eq(escalationEvent.id, event!.id))).toEqual([]);
  });
});

describe('escalation rules: threshold monitor', () => {
  it('starts the monitor for an active rule, cancels it when inactive, starts a new run when active again', async () => {
    const s = await setup();
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', name: 'Errors', triggerCondition: threshold }))).body;
    const first = await monitor(created.id).describe();
    expect(first).toMatchObject({ type: 'runThresholdMonitor', status: { name: 'RUNNING' }, taskQueue: stack.config.TEMPORAL_TASK_QUEUE });
    expect(first.typedSearchAttributes.get(searchAttributes.ruleId)).toBe(created.id);
    expect(first.typedSearchAttributes.get(searchAttributes.projectId)).toBe(s.projectId);
    expect((await s.api('GET', `/v1/escalation-rules/${created.id}`)).body.runtime).toEqual({ monitorWorkflowId: `threshold:${created.id}`, monitorStatus: 'RUNNING' });

    // A change that keeps it active keeps the same run: the monitor re-reads the rule every tick.
    await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { triggerCondition: { ...threshold, threshold: 5 } });
    expect((await monitor(created.id).describe()).runId).toBe(first.runId);

    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { status: 'inactive' })).status).toBe(200);
    await expect.poll(() => monitorStatus(created.id), { timeout: 15_000 }).toBe('CANCELLED');

    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { status: 'active' })).status).toBe(200);
    const again = await monitor(created.id).describe();
    expect(again.status.name).toBe('RUNNING');
    expect(again.runId).not.toBe(first.runId);

    // threshold → manual: the monitor goes.
    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { ruleType: 'manual', triggerCondition: {} })).status).toBe(200);
    await expect.poll(() => monitorStatus(created.id), { timeout: 15_000 }).toBe('CANCELLED');
    expect((await s.api('GET', `/v1/escalation-rules/${created.id}`)).body.runtime).toBeNull();
  });

  it('cancels the monitor when the rule is deleted; an inactive rule starts none', async () => {
    const s = await setup();
    const active = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', triggerCondition: threshold }))).body;
    expect(await monitorStatus(active.id)).toBe('RUNNING');
    expect((await s.api('DELETE', `/v1/escalation-rules/${active.id}`)).status).toBe(204);
    await expect.poll(() => monitorStatus(active.id), { timeout: 15_000 }).toBe('CANCELLED');

    const inactive = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', triggerCondition: threshold, status: 'inactive' }))).body;
    expect(await monitorStatus(inactive.id)).toBe('NOT_FOUND');
    expect((await s.api('GET', `/v1/escalation-rules/${inactive.id}`)).body.runtime.monitorStatus).toBe('NOT_FOUND');
  });

  it('saves nothing when Temporal is unreachable (503)', async () => {
    const s = await setup();
    // No retry interceptor: the call fails at once instead of retrying for a minute.
    const connection = await Connection.lazy({ address: '127.0.0.1:1', interceptors: [] });
    const gateway = await startGateway(stack.config, stack.db, new Client({ connection }));
    try {
      const down = apiClient(gateway.url, s.adminKey);
      const res = await down('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', triggerCondition: threshold }));
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(await ruleCount(s.projectId)).toBe(0);
    } finally {
      await gateway.close();
      await connection.close();
    }
  });
});

describe('escalation rules: monitor runtime without a worker', () => {
  /** A queue no worker polls: the monitor never runs a task, as in a deployment whose workers are down. */
  const idleQueue = `idle-${randomUUID()}`;
  const stored = async (id: string) => (await stack.db.db.select().from(escalationRule).where(eq(escalationRule.id, id)))[0]!;

  it('leaves a cancel request on a run that never ran, and a reactivation replaces that run', async () => {
    const s = await setup();
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', triggerCondition: threshold, status: 'inactive' }))).body;
    const inactive = await stored(created.id);
    const active = { ...inactive, status: 'active' };
    await syncRuleRuntime(stack.temporal.client, idleQueue, active, inactive);
    const first = await monitor(created.id).describe();
    expect(first).toMatchObject({ taskQueue: idleQueue, status: { name: 'RUNNING' } });

    await syncRuleRuntime(stack.temporal.client, idleQueue, inactive, active);
    // Nobody processed the cancellation: the run is still RUNNING, with the request in its history.
    expect((await monitor(created.id).describe()).status.name).toBe('RUNNING');
    const history = await stack.temporal.client.workflow.getHandle(`threshold:${created.id}`, first.runId).fetchHistory();
    expect(history.events!.some((e) => e.workflowExecutionCancelRequestedEventAttributes)).toBe(true);

    // Reusing that run would leave a monitor that stops at its first task; a new run replaces it.
    await syncRuleRuntime(stack.temporal.client, idleQueue, active, inactive);
    const second = await monitor(created.id).describe();
    expect(second.status.name).toBe('RUNNING');
    expect(second.runId).not.toBe(first.runId);
    expect((await stack.temporal.client.workflow.getHandle(`threshold:${created.id}`, first.runId).describe()).status.name).toBe('TERMINATED');

    // Still active: the running monitor is kept.
    await syncRuleRuntime(stack.temporal.client, idleQueue, { ...active, name: 'Renamed' }, active);
    expect((await monitor(created.id).describe()).runId).toBe(second.runId);
    await monitor(created.id).terminate('test over');
  });

  it('keeps the monitor when Temporal refuses the schedule of a threshold rule turned scheduled', async () => {
    const s = await setup();
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'threshold', triggerCondition: threshold }))).body;
    const runId = (await monitor(created.id).describe()).runId;
    const res = await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { ruleType: 'scheduled', triggerCondition: { schedule: { cron: '0 25 * * *' }, condition: { type: 'always' } } });
    expect(res.body.error.code).toBe('invalid_schedule');
    expect((await s.api('GET', `/v1/escalation-rules/${created.id}`)).body.ruleType).toBe('threshold');
    const d = await monitor(created.id).describe();
    expect(d).toMatchObject({ runId, status: { name: 'RUNNING' } });
    expect(await scheduleGone(created.id)).toBe(true);
  });
});

async function scheduleGone(ruleId: string): Promise<boolean> {
  return schedule(ruleId).describe().then(() => false, (err: unknown) => {
    if (err instanceof ScheduleNotFoundError) return true;
    throw err;
  });
}

describe('escalation rules: scheduled', () => {
  it('creates, pauses, updates and deletes the Temporal Schedule with the rule', async () => {
    const s = await setup();
    const condition = { schedule: { cron: '30 9 * * 1-5', timezone: 'Europe/Berlin' }, condition: { type: 'idle_conversations', idleSeconds: 600 } };
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'scheduled', triggerCondition: condition }))).body;
    const d = await schedule(created.id).describe();
    expect(d.spec).toMatchObject({
      timezone: 'Europe/Berlin',
      calendars: [{ minute: [{ start: 30, end: 30 }], hour: [{ start: 9, end: 9 }], dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY' }] }],
    });
    expect(d.action).toMatchObject({
      workflowType: 'runScheduledRule', workflowId: `scheduled:${created.id}`, taskQueue: stack.config.TEMPORAL_TASK_QUEUE,
      args: [{ ruleId: created.id, projectId: s.projectId, agentId: s.agentId }],
    });
    expect(d.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 60_000 });
    expect(d.state.paused).toBe(false);
    expect(d.typedSearchAttributes.get(searchAttributes.ruleId)).toBe(created.id);
    const runtime = (await s.api('GET', `/v1/escalation-rules/${created.id}`)).body.runtime;
    expect(runtime).toMatchObject({ scheduleId: `rule:${created.id}`, scheduleStatus: 'ACTIVE', paused: false });
    expect(runtime.nextActionTimes[0]).toBe(d.info.nextActionTimes[0]!.toISOString());

    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { status: 'inactive' })).status).toBe(200);
    expect((await schedule(created.id).describe()).state).toMatchObject({ paused: true, note: 'rule is inactive' });
    expect((await s.api('GET', `/v1/escalation-rules/${created.id}`)).body.runtime).toMatchObject({ scheduleStatus: 'PAUSED', paused: true });

    const every2h = { schedule: { intervalSeconds: 7200 }, condition: { type: 'always' } };
    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { triggerCondition: every2h })).status).toBe(200);
    const updated = await schedule(created.id).describe();
    expect(updated.spec.intervals).toMatchObject([{ every: 7_200_000 }]);
    expect(updated.spec.calendars).toEqual([]);
    expect(updated.state.paused).toBe(true);

    // Temporal refuses the cron (no minute 99): nothing changes, in the database or in Temporal.
    const refused = await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { status: 'active', triggerCondition: { ...every2h, schedule: { cron: '99 * * * *' } } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_schedule');
    expect(fields(refused)).toEqual(['body.triggerCondition.schedule']);
    expect((await s.api('GET', `/v1/escalation-rules/${created.id}`)).body).toMatchObject({ status: 'inactive', triggerCondition: every2h });
    expect((await schedule(created.id).describe()).spec.intervals).toMatchObject([{ every: 7_200_000 }]);

    expect((await s.api('DELETE', `/v1/escalation-rules/${created.id}`)).status).toBe(204);
    expect(await scheduleGone(created.id)).toBe(true);
  });

  it('refuses a cron Temporal rejects and writes nothing', async () => {
    const s = await setup();
    const res = await s.api('POST', '/v1/escalation-rules', rule(s, { ruleType: 'scheduled', triggerCondition: { schedule: { cron: '0 25 * * *' }, condition: { type: 'always' } } }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_schedule');
    expect(await ruleCount(s.projectId)).toBe(0);
  });

  it('creates the Schedule when a rule becomes scheduled and deletes it when it stops being one', async () => {
    const s = await setup();
    const created = (await s.api('POST', '/v1/escalation-rules', rule(s, {}))).body;
    expect(await scheduleGone(created.id)).toBe(true);
    const hourly = { schedule: { intervalSeconds: 3600 }, condition: { type: 'pending_escalations', pendingSeconds: 900 } };
    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { ruleType: 'scheduled', triggerCondition: hourly })).status).toBe(200);
    expect((await schedule(created.id).describe()).spec.intervals).toMatchObject([{ every: 3_600_000 }]);
    expect((await s.api('PATCH', `/v1/escalation-rules/${created.id}`, { ruleType: 'manual', triggerCondition: {} })).status).toBe(200);
    expect(await scheduleGone(created.id)).toBe(true);
  });
});
