import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/escalations/notifications/deliverer';
import { createPeople, createRule, getEscalation, kinds, waitForEscalations, waitForTimeline } from '../support/escalations';
import { historyText } from '../support/history';
import { recordClosedHistory, recordHistory } from '../support/histories';
import { apiClient, type ApiCall } from '../support/http';
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from '../support/receivers';
import { ScriptedLlm } from '../support/scripted-llm';
import { startStack, testProject, type Stack } from '../support/stack';

const WEBHOOK_SECRET = 'whsec-test-escalations';
const SMS_TOKEN = 'sms-token-test';
const PUBLIC_BASE = 'http://links.example.test';
const llm = new ScriptedLlm();
let smtp: SmtpReceiver;
let hooks: HttpReceiver;
let sms: HttpReceiver;
let stack: Stack;

beforeAll(async () => {
  await llm.start();
  smtp = await startSmtpReceiver({ user: 'mailer', pass: 'mail-pass' });
  hooks = await startHttpReceiver();
  sms = await startHttpReceiver();
  stack = await startStack({
    OPENAI_BASE_URL: llm.baseUrl,
    SMTP_URL: `smtp://mailer:mail-pass@127.0.0.1:${smtp.port}`,
    ESCALATION_WEBHOOK_SECRET: WEBHOOK_SECRET,
    SMS_GATEWAY_URL: `${sms.url}/messages`,
    SMS_GATEWAY_TOKEN: SMS_TOKEN,
    ESCALATION_LINK_SECRET: 'link-secret-for-tests-only',
    PUBLIC_BASE_URL: PUBLIC_BASE,
    TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${hooks.port},127.0.0.1:${sms.port}`,
  });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.stop();
  await Promise.all([llm.stop(), smtp.close(), hooks.close(), sms.close()]);
});

async function setup() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'Support', goal: 'help customers', systemPrompt: 'Be kind.' })).body;
  const people = await createPeople(api, `${hooks.url}/hooks/${project.projectId}`);
  const conversationId = (await api('POST', '/v1/conversations', { agentId: agent.id })).body.id as string;
  return { api, project, agentId: agent.id as string, conversationId, people };
}

const say = (api: ApiCall, conversationId: string, content: string) => api('POST', `/v1/conversations/${conversationId}/messages`, { content });

describe('deviation rules', () => {
  it('a keyword escalates on every channel; the turn still answers; a signed link acknowledges', async () => {
    const { api, agentId, conversationId, people, project } = await setup();
    const template = await api('POST', '/v1/escalation-templates', {
      name: 'Page', messageType: 'email',
      subject: '[{{ rule.priority }}] {{ agent.name }} needs a human',
      body: 'Hi {{ recipient.name }}, {{ event.reason }}. User said: {{ turn.userMessage }}\nAcknowledge: {{ links.acknowledge }}',
    });
    expect(template.status, JSON.stringify(template.body)).toBe(201);
    const ruleId = await createRule(api, {
      name: 'Refund requests', agentId, ruleType: 'deviation', priority: 'high',
      triggerCondition: { keywords: ['refund', 'chargeback'] }, escalationAction: 'notify', escalationTemplateId: template.body.id,
      policy: { levels: [{ targets: [people.oncall], channels: ['email', 'webhook', 'sms', 'in_app'], ackTimeoutSeconds: 300 }] },
    });

    llm.script({ reply: 'We are open 9 to 5.' }, { reply: 'I understand, let me help with the refund.' });
    expect((await say(api, conversationId, 'When are you open?')).status).toBe(200);
    const turn = await say(api, conversationId, 'I want a REFUND for order 42');
    expect(turn.status).toBe(200);
    expect(turn.body.message.content).toBe('I understand, let me help with the refund.');

    const [event] = await waitForEscalations(api, `agentId=${agentId}`);
    expect(event).toMatchObject({ escalationRuleId: ruleId, status: 'pending', reason: 'message mentions "refund"' });
    const row = (await api('GET', `/v1/conversations/${conversationId}/turns/2`)).body;
    expect(row).toMatchObject({ escalated: true, escalationRuleId: ruleId, escalationReason: 'message mentions "refund"' });
    expect((await api('GET', `/v1/conversations/${conversationId}/turns/1`)).body.escalated).toBe(false);
    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'turn-escalated', `turn:${conversationId}:2`);

    await expect.poll(() => smtp.messages.filter((m) => m.to.includes('oncall@example.test')).length, { timeout: 15_000 }).toBe(1);
    const mail = smtp.messages.find((m) => m.to.includes('oncall@example.test'))!;
    expect(mail.subject).toBe('[high] Support needs a human');
    expect(mail.text).toContain('Hi On Call, message mentions "refund". User said: I want a REFUND for order 42');
    expect(mail.user).toBe('mailer');

    await expect.poll(() => hooks.requests.filter((r) => r.path.includes(project.projectId)).length, { timeout: 15_000 }).toBe(1);
    const hook = hooks.requests.find((r) => r.path.includes(project.projectId))!;
    const ts = String(hook.headers['x-signature-timestamp']);
    expect(verifyWebhookSignature(WEBHOOK_SECRET, ts, hook.rawBody, String(hook.headers['x-signature']), { toleranceSeconds: 300 })).toBe(true);
    expect(verifyWebhookSignature('wrong-secret', ts, hook.rawBody, String(hook.headers['x-signature']), { toleranceSeconds: 300 })).toBe(false);
    expect(hook.headers['idempotency-key']).toBe(`${event!.id}:0:0:${people.oncall}:webhook`);
    expect(hook.json).toMatchObject({ eventId: event!.id, level: 1, priority: 'high', rule: { id: ruleId } });

    await expect.poll(() => sms.requests.filter((r) => (r.json as { to?: string })?.to === '+15550000001').length, { timeout: 15_000 }).toBe(1);
    expect(sms.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SMS_TOKEN}`);

    const inbox = (await api('GET', `/v1/notifications?userId=${people.oncall}&channel=in_app`)).body.items;
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ status: 'sent', escalationEventId: event!.id });

    const wf = stack.temporal.client.workflow.list({ query: `RuleId = '${ruleId}' AND EscalationStatus = 'pending'` });
    await expect.poll(async () => { const ids: string[] = []; for await (const w of wf) ids.push(w.workflowId); return ids; }, { timeout: 10_000 })
      .toEqual([`escalation:${event!.id}`]);

    // The link in the mail acknowledges without an API key: GET only shows the page, POST acts.
    const link = /https?:\/\/\S+\/links\/escalations\/\S+/.exec(mail.text)![0];
    expect(link.startsWith(`${PUBLIC_BASE}/links/escalations/`)).toBe(true);
    const local = link.replace(PUBLIC_BASE, stack.gateway.url);
    const view = await fetch(local);
    expect(view.status).toBe(200);
    const pendingPage = await view.text();
    expect(pendingPage).toContain('<button type="submit">Acknowledge</button>');
    expect((await getEscalation(api, event!.id)).status).toBe('pending');
    const acted = await fetch(local, { method: 'POST', headers: { accept: 'application/json' } });
    expect(acted.status).toBe(200);
    expect(await acted.json()).toEqual({ eventId: event!.id, status: 'acknowledged' });
    const acked = await getEscalation(api, event!.id);
    expect(acked.timeline.find((t) => t.kind === 'acknowledged')).toMatchObject({ actor: `user:${people.oncall}` });
    // Once acknowledged, the same link's page shows who did it and offers only what still applies: Resolve.
    const ackedPage = await (await fetch(local)).text();
    expect(ackedPage).toContain('Status: <b>acknowledged</b> (by user:');
    expect(ackedPage).not.toContain('>Acknowledge</button>');
    expect(ackedPage).toContain('<form method="post" action="?action=resolve"');
    expect(await (await fetch(local, { headers: { accept: 'application/json' } })).json()).toMatchObject({ status: 'acknowledged', action: 'acknowledge', actions: ['resolve'] });
    expect((await fetch(local.slice(0, -3) + 'AAA', { method: 'POST', headers: { accept: 'application/json' } })).status).toBe(403);
    const ignore = await fetch(`${local}?action=ignore`, { method: 'POST', headers: { accept: 'application/json' } });
    expect(ignore.status).toBe(403);
    expect(((await ignore.json()) as { error: { code: string } }).error.code).toBe('action_not_allowed');

    // Acknowledging twice is harmless; after resolve, ack is refused and resolve again is harmless.
    expect((await api('POST', `/v1/escalations/${event!.id}/acknowledge`, {})).body.status).toBe('acknowledged');
    expect((await api('POST', `/v1/escalations/${event!.id}/resolve`, { note: 'refunded' })).body).toMatchObject({ status: 'resolved', notes: 'refunded' });
    const late = await api('POST', `/v1/escalations/${event!.id}/acknowledge`, {});
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('escalation_closed');
    expect((await api('POST', `/v1/escalations/${event!.id}/resolve`, {})).status).toBe(200);
    const done = await getEscalation(api, event!.id);
    expect(kinds(done).filter((k) => k === 'acknowledged')).toHaveLength(1);
    await stack.temporal.client.workflow.getHandle(`escalation:${event!.id}`).result();
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'escalation-link-ack-resolved', `escalation:${event!.id}`);

    // Secrets and signed links stay out of workflow history: activities pass ids, not bodies or settings.
    const token = link.split('/').at(-1)!;
    // Each history must show what is known to be in its payloads (the user's words; who acted through the link), so the search really reads them.
    const known = { [`escalation:${event!.id}`]: `user:${people.oncall}`, [`turn:${conversationId}:2`]: 'I want a REFUND for order 42' };
    for (const [id, inPayloads] of Object.entries(known)) {
      const history = await historyText(stack.temporal.client, id);
      expect(history, id).toContain(inPayloads);
      for (const secret of ['mail-pass', WEBHOOK_SECRET, SMS_TOKEN, 'link-secret-for-tests-only', token]) expect(history, id).not.toContain(secret);
    }
    expect(done.deliveries.map((d) => `${d.channel}:${d.status}`).sort()).toEqual(['email:sent', 'in_app:sent', 'sms:sent', 'webhook:sent']);
  });

  it('the model hands over with escalate_to_human; assign sets the assignee', async () => {
    const { api, agentId, conversationId, people } = await setup();
    await createRule(api, {
      name: 'Agent hand-over', agentId, ruleType: 'deviation', triggerCondition: { escalateTool: true },
      escalationAction: 'assign', escalationTarget: people.manager,
    });
    llm.script({ toolCalls: [{ name: 'escalate_to_human', arguments: { reason: 'customer is furious' } }] }, { reply: 'A colleague will contact you shortly.' });
    const turn = await say(api, conversationId, 'This is the third time I write!');
    expect(turn.status).toBe(200);
    expect(turn.body.message.content).toBe('A colleague will contact you shortly.');
    expect(llm.requests.at(-2)!.tools!.map((t) => t.function.name)).toContain('escalate_to_human');
    const [event] = await waitForEscalations(api, `agentId=${agentId}`);
    expect(event!.reason).toBe('the agent escalated: customer is furious');
    const view = await waitForTimeline(api, event!.id, 'notified'); // after the action (assigned), level 1 is told
    expect(view.assignedTo).toBe(people.manager);
    // Level 1 (the target, in-app) was told too.
    expect(view.deliveries).toMatchObject([{ channel: 'in_app', targetUserId: people.manager, status: 'sent' }]);
  });

  it('pause_agent blocks new turns until the agent is resumed', async () => {
    const { api, agentId, conversationId } = await setup();
    await createRule(api, { name: 'Cancellation', agentId, ruleType: 'deviation', triggerCondition: { regex: 'cancel\\s+my\\s+account' }, escalationAction: 'pause_agent' });
    llm.script({ reply: 'Sorry to hear that.' });
    expect((await say(api, conversationId, 'Please cancel   my account')).status).toBe(200);
    await expect.poll(async () => (await api('GET', `/v1/agents/${agentId}`)).body.status, { timeout: 15_000 }).toBe('paused');
    const [event] = await waitForEscalations(api, `agentId=${agentId}`);
    expect(kinds(await waitForTimeline(api, event!.id, 'agent_paused'))).toEqual(['created', 'agent_paused']);
    const blocked = await say(api, conversationId, 'hello?');
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.code).toBe('agent_paused');
    expect((await api('POST', `/v1/agents/${agentId}/resume`)).body.status).toBe('active');
    llm.script({ reply: 'Back again.' });
    expect((await say(api, conversationId, 'hello?')).status).toBe(200);
    expect((await api('POST', `/v1/agents/${agentId}/resume`)).body.error.code).toBe('agent_not_paused');
  });
});

describe('manual escalations', () => {
  it('execute_workflow starts a follow-up agent task as a child; Idempotency-Key returns the first event', async () => {
    const { api, agentId, conversationId } = await setup();
    expect((await api('POST', `/v1/conversations/${conversationId}/escalations`, { reason: 'x' })).body.error.code).toBe('no_manual_rule');
    const ruleId = await createRule(api, {
      name: 'Follow up', agentId, ruleType: 'manual', escalationAction: 'execute_workflow',
      actionConfig: { workflow: 'agent_task', input: 'Follow up on: {{ event.reason }}' },
    });
    llm.script({ reply: 'Follow-up drafted.' });
    const headers = { 'Idempotency-Key': 'esc-1' };
    const created = await api('POST', `/v1/conversations/${conversationId}/escalations`, { reason: 'customer called twice' }, headers);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ escalationRuleId: ruleId, eventType: 'manual', status: 'pending', conversationId });
    const again = await api('POST', `/v1/conversations/${conversationId}/escalations`, { reason: 'customer called twice' }, headers);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(created.body.id);

    const view = await waitForTimeline(api, created.body.id, 'workflow_started');
    const started = view.timeline.find((t) => t.kind === 'workflow_started')!;
    const tasks = async () => (await api('GET', `/v1/agents/${agentId}/tasks`)).body.items;
    await expect.poll(async () => (await tasks())[0]?.status, { timeout: 15_000 }).toBe('completed');
    expect((await tasks())[0]).toMatchObject({ id: started.taskId, result: { output: 'Follow-up drafted.' } });
    expect(llm.requests.at(-1)!.messages.at(-1)!.content).toBe('Follow up on: customer called twice');
    const child = await stack.temporal.client.workflow.getHandle(String(started.workflowId)).describe();
    expect(child.parentExecution?.workflowId).toBe(`escalation:${created.body.id}`);
  });

  it('refuses bad input and other projects without writing anything', async () => {
    const { api, conversationId } = await setup();
    expect((await api('POST', `/v1/conversations/${conversationId}/escalations`, {})).status).toBe(400);
    const other = await testProject(stack.db, 'other');
    const stranger = apiClient(stack.gateway.url, other.adminKey);
    expect((await stranger('POST', `/v1/conversations/${conversationId}/escalations`, { reason: 'x' })).status).toBe(404);
    expect((await stranger('GET', '/v1/escalations')).body.items).toEqual([]);
    const readOnly = apiClient(stack.gateway.url, await other.key(['escalations:read']));
    expect((await readOnly('POST', `/v1/escalations/00000000-0000-4000-8000-000000000000/acknowledge`, {})).status).toBe(403);
    expect((await api('POST', `/v1/escalations/00000000-0000-4000-8000-000000000000/snooze`, { until: 'tomorrow' })).status).toBe(400);
  });
});
