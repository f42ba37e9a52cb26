import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPeople, createRule, getEscalation, kinds, sleep, waitForEscalations, waitForTimeline, type EscalationView } from '../support/escalations';
import { thresholdMonitorWorkflowId } from '../../workflows/contracts';
import { historyText } from '../support/history';
import { recordHistory } from '../support/histories';
import { apiClient } from '../support/http';
import { startHttpReceiver, type HttpReceiver } from '../support/receivers';
import { ScriptedLlm } from '../support/scripted-llm';
import { startStack, testProject, type Stack } from '../support/stack';

const llm = new ScriptedLlm();
let hooks: HttpReceiver;
let stack: Stack;

beforeAll(async () => {
  await llm.start();
  hooks = await startHttpReceiver();
  stack = await startStack({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${hooks.port}` });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.stop();
  await Promise.all([llm.stop(), hooks.close()]);
});

async function setup() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agentId = (await api('POST', '/v1/agents', { name: 'Ops', goal: 'keep things running' })).body.id as string;
  const people = await createPeople(api, `${hooks.url}/hooks`);
  const conversationId = (await api('POST', '/v1/conversations', { agentId })).body.id as string;
  /** A manual rule with the given policy, fired once by hand; returns the event id. */
  const escalate = async (policy: Record<string, unknown>) => {
    const ruleId = await createRule(api, { name: 'Pager', agentId, ruleType: 'manual', escalationAction: 'notify', policy });
    const res = await api('POST', `/v1/conversations/${conversationId}/escalations`, { ruleId, reason: 'printer on fire' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { eventId: res.body.id as string, ruleId };
  };
  return { api, agentId, conversationId, people, escalate };
}

const at = (v: EscalationView, kind: string, nth = 0) => Date.parse(String(v.timeline.filter((t) => t.kind === kind)[nth]!.at));
const inApp = (targets: string[], ackTimeoutSeconds: number) => ({ targets, channels: ['in_app'], ackTimeoutSeconds });

describe('escalation policy on durable timers', () => {
  it('unacknowledged: level 2 is notified after level 1 times out; acknowledging stops it', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 2), inApp([people.manager], 2)] });
    const escalated = await waitForTimeline(api, eventId, 'escalated');
    expect(at(escalated, 'escalated') - at(escalated, 'notified')).toBeGreaterThanOrEqual(1900);
    expect(escalated).toMatchObject({ status: 'pending', currentLevel: 1 });
    expect(escalated.deliveries.map((d) => [d.level, d.targetUserId])).toEqual([[1, people.oncall], [2, people.manager]]);
    expect((await api('POST', `/v1/escalations/${eventId}/acknowledge`, { note: 'on it' })).body.status).toBe('acknowledged');
    await sleep(3000); // past level 2's timeout: nothing more happens
    const after = await getEscalation(api, eventId);
    expect(kinds(after)).toEqual(['created', 'notified', 'escalated', 'acknowledged']);
    expect(after.deliveries).toHaveLength(2);
    const wf = await stack.temporal.client.workflow.getHandle(`escalation:${eventId}`).describe();
    expect(wf.searchAttributes).toMatchObject({ EscalationStatus: ['acknowledged'], EscalationLevel: [2] });
  });

  it('counts levels and passes from 1 everywhere: the 201, every timeline entry (acknowledged too), deliveries; live delivery counts', async () => {
    const { api, people, agentId, conversationId } = await setup();
    const ruleId = await createRule(api, { name: 'Pager', agentId, ruleType: 'manual', escalationAction: 'notify', policy: { levels: [inApp([people.oncall], 1), inApp([people.manager], 600)] } });
    const created = await api('POST', `/v1/conversations/${conversationId}/escalations`, { ruleId, reason: 'disk full' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The workflow writes its id on the row once it runs; the 201 names it already.
    expect(created.body).toMatchObject({ workflowId: `escalation:${created.body.id}`, level: 1, currentLevel: 0 });
    const eventId = created.body.id as string;
    await waitForTimeline(api, eventId, 'escalated');
    expect((await api('POST', `/v1/escalations/${eventId}/acknowledge`, {})).body).toMatchObject({ status: 'acknowledged', level: 2, currentLevel: 1 });
    const view = await getEscalation(api, eventId);
    expect(view.timeline.map((t) => [t.kind, t.level, t.pass])).toEqual([['created', 1, 1], ['notified', 1, 1], ['escalated', 2, 1], ['acknowledged', 2, 1]]);
    expect(view.deliveries.map((d) => [d.level, d.pass])).toEqual([[1, 1], [2, 1]]);
    // A timeline entry is written once: it holds no count of deliveries in flight; the event has the live one.
    for (const t of view.timeline) expect(t.notifications ?? {}).not.toHaveProperty('sending');
    expect((view as unknown as { notifications: unknown }).notifications).toEqual({ total: 2, pending: 0, sent: 2, failed: 0, read: 0 });
    const wf = await stack.temporal.client.workflow.getHandle(`escalation:${eventId}`).describe();
    expect(wf.searchAttributes).toMatchObject({ EscalationLevel: [2] });
  });

  it('reads in the Temporal UI without its input: ids in the static details, a summary on every step', async () => {
    const { api, people, escalate } = await setup();
    const { eventId, ruleId } = await escalate({ levels: [{ targets: [people.oncall], channels: ['webhook'], ackTimeoutSeconds: 600 }] });
    await expect.poll(async () => (await getEscalation(api, eventId)).deliveries.map((d) => d.status), { timeout: 15_000 }).toEqual(['sent']);
    expect((await api('POST', `/v1/escalations/${eventId}/resolve`, {})).body.status).toBe('resolved');
    const handle = stack.temporal.client.workflow.getHandle(`escalation:${eventId}`);
    await handle.result();
    const wf = await handle.describe();
    expect(await wf.staticSummary()).toBe('Escalation (medium) of rule "Pager" for conversation ' + (await getEscalation(api, eventId) as unknown as { conversationId: string }).conversationId);
    expect(await wf.staticDetails()).toContain(`event ${eventId} · rule ${ruleId}`);
    const [delivery] = (await getEscalation(api, eventId)).deliveries as unknown as { id: string }[];
    const text = await historyText(stack.temporal.client, `escalation:${eventId}`);
    for (const summary of [
      'read the event and its frozen rule', 'render and store the notifications of level 1, pass 1', `deliver webhook notification ${delivery!.id}`,
      'timeline: notified (pending, level 1, pass 1)', 'timeline: resolved (resolved, level 1, pass 1)', 'level 1 ack due',
    ]) expect(text).toContain(summary);
    expect(text).not.toContain('Postgres read/write'); // every escalation step says what it does, not only where
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'escalation-summaries-webhook-resolved', `escalation:${eventId}`);
  });

  it('reaches its timer in one workflow task and one local activity, and a fired timer notifies the next level in one more task (no activity tasks for in-app)', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 1), inApp([people.manager], 600)] });
    await waitForTimeline(api, eventId, 'escalated');
    expect((await api('POST', `/v1/escalations/${eventId}/resolve`, {})).body.status).toBe('resolved');
    const handle = stack.temporal.client.workflow.getHandle(`escalation:${eventId}`);
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const index = (has: (e: (typeof events)[number]) => unknown, nth = 0) => events.map((e, i) => (has(e) ? i : -1)).filter((i) => i >= 0)[nth]!;
    const tasksBetween = (from: number, to: number) => events.slice(from, to).filter((e) => e.workflowTaskCompletedEventAttributes).length;
    const firstTimer = index((e) => e.timerStartedEventAttributes);
    const fired = index((e) => e.timerFiredEventAttributes);
    const secondTimer = index((e) => e.timerStartedEventAttributes, 1);
    expect(tasksBetween(0, firstTimer)).toBe(1);
    expect(tasksBetween(fired, secondTimer)).toBe(1);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
    // The first step (begin, level 1's notifications, `notified`) is one local activity, and nothing before the
    // timer repeats the escalation's search attributes the start set (the patch's own TemporalChangeVersion aside).
    const beforeTimer = events.slice(0, firstTimer);
    expect(beforeTimer.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(1);
    const upserted = beforeTimer.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
    expect(upserted.filter((key) => key !== 'TemporalChangeVersion')).toEqual([]);
    expect(kinds(await getEscalation(api, eventId))).toEqual(['created', 'notified', 'escalated', 'resolved']);
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'escalation-first-step-resolved', `escalation:${eventId}`);
  });

  it('acknowledged but not resolved: re-triggered after retriggerAfterSeconds and notified again', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 300)], retriggerAfterSeconds: 2 });
    await waitForTimeline(api, eventId, 'notified');
    await api('POST', `/v1/escalations/${eventId}/acknowledge`, {});
    const view = await waitForTimeline(api, eventId, 'retriggered');
    expect(at(view, 'retriggered') - at(view, 'acknowledged')).toBeGreaterThanOrEqual(1900);
    expect(view.status).toBe('pending');
    expect(view.deliveries.filter((d) => d.targetUserId === people.oncall)).toHaveLength(2);
    expect((await api('POST', `/v1/escalations/${eventId}/resolve`, {})).body.status).toBe('resolved');
    await expect.poll(async () => (await stack.temporal.client.workflow.getHandle(`escalation:${eventId}`).describe()).status.name, { timeout: 10_000 }).toBe('COMPLETED');
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'escalation-retriggered-resolved', `escalation:${eventId}`);
  });

  it('repeat: the whole policy runs again, then stops', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 1)], repeat: 2 });
    const view = await waitForTimeline(api, eventId, 'exhausted');
    expect(kinds(view)).toEqual(['created', 'notified', 'escalated', 'escalated', 'exhausted']);
    expect(view.deliveries.map((d) => d.pass)).toEqual([1, 2, 3]);
    expect(view.timeline.filter((t) => t.kind === 'escalated').map((t) => [t.level, t.pass])).toEqual([[1, 2], [1, 3]]);
    expect(view.status).toBe('pending');
    expect((await api('POST', `/v1/escalations/${eventId}/ignore`, { note: 'test' })).body.status).toBe('ignored');
    await stack.temporal.client.workflow.getHandle(`escalation:${eventId}`).result();
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'escalation-repeat-ignored', `escalation:${eventId}`);
  });

  it('snooze holds notifications until the given time, then re-notifies', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 300)] });
    await waitForTimeline(api, eventId, 'notified');
    const until = new Date(Date.now() + 2500).toISOString();
    const snoozed = await api('POST', `/v1/escalations/${eventId}/snooze`, { until });
    expect(snoozed.body).toMatchObject({ status: 'snoozed', snoozedUntil: until });
    const past = await api('POST', `/v1/escalations/${eventId}/snooze`, { until: new Date(Date.now() - 1000).toISOString() });
    expect(past.status).toBe(409);
    expect(past.body.error.code).toBe('command_refused');
    const view = await waitForTimeline(api, eventId, 'snooze_ended');
    expect(at(view, 'snooze_ended')).toBeGreaterThanOrEqual(Date.parse(until));
    expect(view).toMatchObject({ status: 'pending', snoozedUntil: null });
    expect(view.deliveries).toHaveLength(2);
  });

  it('takes a command sent the moment the escalation starts', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 300)] });
    const acked = await api('POST', `/v1/escalations/${eventId}/acknowledge`, {});
    expect(acked.status, JSON.stringify(acked.body)).toBe(200);
    expect(acked.body.status).toBe('acknowledged');
    expect(kinds(await waitForTimeline(api, eventId, 'notified'))).toContain('acknowledged');
  });

  it('auto-resolves after autoResolveAfterSeconds', async () => {
    const { api, people, escalate } = await setup();
    const { eventId } = await escalate({ levels: [inApp([people.oncall], 300)], autoResolveAfterSeconds: 2 });
    const view = await waitForTimeline(api, eventId, 'auto_resolved');
    expect(view).toMatchObject({ status: 'resolved' });
    expect(view.timeline.at(-1)).toMatchObject({ actor: 'system' });
    await stack.temporal.client.workflow.getHandle(`escalation:${eventId}`).result();
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'escalation-auto-resolved', `escalation:${eventId}`);
  });

  it('editing the rule does not change an escalation already running', async () => {
    const { api, people, escalate } = await setup();
    const { eventId, ruleId } = await escalate({ levels: [inApp([people.oncall], 2)], repeat: 1 });
    await waitForTimeline(api, eventId, 'notified');
    const patched = await api('PATCH', `/v1/escalation-rules/${ruleId}`, { policy: { levels: [inApp([people.manager], 2)] } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const view = await waitForTimeline(api, eventId, 'escalated');
    expect(view.deliveries.map((d) => d.targetUserId)).toEqual([people.oncall, people.oncall]);
    expect((view.policy as { policy: { levels: { targets: string[] }[] } }).policy.levels[0]!.targets).toEqual([people.oncall]);
  });
});

describe('threshold and scheduled rules', () => {
  it('a threshold crossing fires once per cool-down', async () => {
    const { api, agentId, conversationId, people } = await setup();
    llm.script({ status: 400, body: { error: { message: 'bad request' } } });
    expect((await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'hi' })).status).toBe(502);
    const ruleId = await createRule(api, {
      name: 'Failing turns', agentId, ruleType: 'threshold', escalationAction: 'notify', escalationTarget: people.oncall,
      triggerCondition: { metric: 'turn_errors', operator: 'gte', threshold: 1, windowSeconds: 3600, intervalSeconds: 1, cooldownSeconds: 4 },
    });
    const [first] = await waitForEscalations(api, `ruleId=${ruleId}`);
    expect(first!.reason).toBe('turn_errors is 1 (gte 1) over the last 3600 s');
    await sleep(2000); // two more ticks inside the cool-down
    expect((await api('GET', `/v1/escalations?ruleId=${ruleId}`)).body.items).toHaveLength(1);
    const [second, firstAgain] = await waitForEscalations(api, `ruleId=${ruleId}`, 2);
    expect(Date.parse((second as unknown as { createdAt: string }).createdAt) - Date.parse((firstAgain as unknown as { createdAt: string }).createdAt)).toBeGreaterThanOrEqual(3900);

    expect((await api('PATCH', `/v1/escalation-rules/${ruleId}`, { status: 'inactive' })).status).toBe(200);
    await expect.poll(async () => (await stack.temporal.client.workflow.getHandle(`threshold:${ruleId}`).describe()).status.name, { timeout: 10_000 }).toBe('CANCELLED');
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'threshold-monitor-cancelled', thresholdMonitorWorkflowId(ruleId));
  });

  it('a scheduled rule fires when its schedule is triggered, once per idle spell', async () => {
    const { api, agentId, conversationId, people } = await setup();
    const ruleId = await createRule(api, {
      name: 'Idle chats', agentId, ruleType: 'scheduled', escalationAction: 'notify', escalationTarget: people.oncall,
      triggerCondition: { schedule: { intervalSeconds: 3600 }, condition: { type: 'idle_conversations', idleSeconds: 1 } },
    });
    await sleep(1200);
    const schedule = stack.temporal.client.schedule.getHandle(`rule:${ruleId}`);
    await schedule.trigger();
    const [event] = await waitForEscalations(api, `ruleId=${ruleId}`);
    expect(event).toMatchObject({ status: 'pending' });
    expect((event as unknown as { conversationId: string }).conversationId).toBe(conversationId);
    // The schedule skips a trigger while its previous run is still going (the default overlap policy), so
    // the second trigger waits for the first run to finish: under load it can outlive the event it opened.
    const [firstRun] = (await schedule.describe()).info.recentActions;
    await stack.temporal.client.workflow.getHandle(firstRun!.action.workflow.workflowId).result();
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'scheduled-rule-opened', firstRun!.action.workflow.workflowId);
    await schedule.trigger();
    await expect.poll(async () => (await schedule.describe()).info.recentActions.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await sleep(1000);
    expect((await api('GET', `/v1/escalations?ruleId=${ruleId}`)).body.items).toHaveLength(1);
  });
});
