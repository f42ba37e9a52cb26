import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { appendTurnEvents } from '../../src/conversations/turn-events';
import { startWebhookDispatcher, type WebhookDispatcher } from '../../src/webhooks/dispatcher';
import { verifyWebhook } from '../../src/webhooks/signing';
import { webhookDeliveryWorkflowId } from '../../workflows/contracts';
import { createPeople, createRule, waitForTimeline } from '../support/escalations';
import { recordHistory } from '../support/histories';
import { historyText } from '../support/history';
import { apiClient, type ApiCall } from '../support/http';
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from '../support/receivers';
import { ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject, workerLogs, type RunningWorker } from '../support/stack';

// Every log line of the gateway and the dispatcher, at debug level: the secret must be in none of them.
const logs: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });

const llm = new ScriptedLlm();
const receivers: Record<'flaky' | 'gone' | 'bad' | 'tasks' | 'escalations' | 'turns', HttpReceiver> = {} as never;
let config: ReturnType<typeof testConfig>;
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let worker: RunningWorker;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let dispatcher: WebhookDispatcher;

beforeAll(async () => {
  await llm.start();
  for (const name of ['flaky', 'gone', 'bad', 'tasks', 'escalations', 'turns'] as const) receivers[name] = await startHttpReceiver();
  // Only the receivers' ports are allowed: any other loopback or private address is refused.
  const allow = Object.values(receivers).map((r) => `127.0.0.1:${r.port}`).join(',');
  config = testConfig({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: allow });
  db = testDb(config);
  temporal = await temporalClient(config);
  worker = await startWorker(config, db);
  gateway = await startGateway(config, db, temporal.client, logger);
  // Attempts a few hundred ms apart instead of seconds to an hour: the mechanism, not the schedule, is under test.
  dispatcher = startWebhookDispatcher({
    db: db.db, sql: db.sql, temporal: temporal.client, taskQueue: config.TEMPORAL_TASK_QUEUE, logger,
    timeoutMs: 2000, retry: { initialIntervalMs: 300, maximumIntervalMs: 1000, maximumAttempts: 4 }, sweepIntervalMs: 1000,
  });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await dispatcher?.close();
  await gateway?.close();
  await worker?.stop();
  await temporal?.close();
  await db?.close();
  await Promise.all([llm.stop(), ...Object.values(receivers).map((r) => r.close())]);
});

async function project() {
  const p = await testProject(db);
  const api = apiClient(gateway.url, p.adminKey);
  const agentId = (await api('POST', '/v1/agents', { name: 'Hooked', goal: 'do things' })).body.id as string;
  return { ...p, api, agentId };
}

async function subscribe(api: ApiCall, receiver: HttpReceiver, eventTypes: string[]) {
  const res = await api('POST', '/v1/webhooks', { url: `${receiver.url}/hook`, eventTypes, description: 'test' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; secret: string };
}

interface DeliveryView {
  id: string;
  eventType: string;
  eventKey: string;
  status: string;
  attemptCount: number;
  attempts: { attempt: number; statusCode?: number; error?: string }[];
  payload: { type: string; data: Record<string, unknown> };
}

/** Polls the webhook's deliveries until `count` of them are no longer pending. */
async function settledDeliveries(api: ApiCall, webhookId: string, count = 1): Promise<DeliveryView[]> {
  let items: DeliveryView[] = [];
  await expect
    .poll(async () => (items = (await api('GET', `/v1/webhooks/${webhookId}/deliveries`)).body.items).filter((d: DeliveryView) => d.status !== 'pending').length, {
      timeout: 30_000, interval: 200,
    })
    .toBeGreaterThanOrEqual(count);
  return items;
}

const header = (r: ReceivedRequest, name: string) => r.headers[name] as string | undefined;
const verified = (secret: string, r: ReceivedRequest) =>
  verifyWebhook(secret, { id: header(r, 'webhook-id'), timestamp: header(r, 'webhook-timestamp'), signature: header(r, 'webhook-signature') }, r.rawBody);

describe('webhook subscriptions', () => {
  it('creates a webhook whose secret is shown once and never again', async () => {
    const { api } = await project();
    const created = await subscribe(api, receivers.tasks, ['task.completed', 'escalation.*']);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await api('GET', `/v1/webhooks/${created.id}`);
    expect(got.body).toMatchObject({ id: created.id, url: `${receivers.tasks.url}/hook`, eventTypes: ['task.completed', 'escalation.*'], active: true });
    const listed = await api('GET', '/v1/webhooks');
    expect(listed.body.items.map((w: { id: string }) => w.id)).toEqual([created.id]);
    for (const body of [got.body, listed.body]) expect(JSON.stringify(body)).not.toContain(created.secret.slice(6));
    expect((await api('DELETE', `/v1/webhooks/${created.id}`)).status).toBe(204);
    expect((await api('GET', `/v1/webhooks/${created.id}`)).status).toBe(404);
  });

  it('refuses private, loopback and metadata addresses the policy does not allow, and unknown event kinds', async () => {
    const { api } = await project();
    const unlisted = await startHttpReceiver(); // a loopback port that is not allow-listed
    try {
      for (const url of [`${unlisted.url}/hook`, 'http://10.1.2.3/hook', 'http://169.254.169.254/latest', 'http://[::1]:8080/', 'http://192.168.0.10/']) {
        const res = await api('POST', '/v1/webhooks', { url, eventTypes: ['turn.completed'] });
        expect(res.status, url).toBe(400);
        expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'body.url' })]);
      }
    } finally {
      await unlisted.close();
    }
    expect((await api('POST', '/v1/webhooks', { url: 'ftp://example.com/', eventTypes: ['turn.completed'] })).status).toBe(400);
    expect((await api('POST', '/v1/webhooks', { url: `${receivers.turns.url}/x`, eventTypes: ['turn.started'] })).status).toBe(400);
    expect((await api('POST', '/v1/webhooks', { url: `${receivers.turns.url}/x`, eventTypes: ['*'] })).status).toBe(400);
    expect((await api('POST', '/v1/webhooks', { url: `${receivers.turns.url}/x`, eventTypes: [] })).status).toBe(400);
    expect((await api('GET', '/v1/webhooks')).body.items).toEqual([]);
  });

  it("keeps another project's webhooks and deliveries invisible", async () => {
    const a = await project();
    const b = await project();
    const hook = await subscribe(a.api, receivers.tasks, ['task.completed']);
    expect((await b.api('GET', `/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await b.api('GET', `/v1/webhooks/${hook.id}/deliveries`)).status).toBe(404);
    expect((await b.api('DELETE', `/v1/webhooks/${hook.id}`)).status).toBe(404);
    expect((await b.api('GET', '/v1/webhooks')).body.items).toEqual([]);
    expect((await a.api('GET', `/v1/webhooks/${hook.id}`)).status).toBe(200);
    const reader = apiClient(gateway.url, await a.key(['webhooks:read']));
    expect((await reader('GET', `/v1/webhooks/${hook.id}`)).status).toBe(200);
    expect((await reader('POST', '/v1/webhooks', { url: `${receivers.tasks.url}/x`, eventTypes: ['task.completed'] })).status).toBe(403);
  });
});

describe('webhook deliveries', () => {
  it('delivers a completed task once despite a retried 500, signed, with both attempts listed', async () => {
    const { api, agentId } = await project();
    const hook = await subscribe(api, receivers.flaky, ['task.*']);
    receivers.flaky.respondNext(500, { 'content-type': 'text/plain' }, 'temporarily broken');
    llm.script({ reply: 'All done.' });
    const task = (await api('POST', `/v1/agents/${agentId}/tasks`, { input: 'Do it' })).body as { id: string };
    const [delivery] = await settledDeliveries(api, hook.id);
    expect(delivery).toMatchObject({
      eventType: 'task.completed', eventKey: `task.completed:${task.id}`, status: 'delivered', attemptCount: 2,
      payload: { type: 'task.completed', data: { taskId: task.id, agentId, status: 'completed', result: { output: 'All done.' } } },
    });
    expect(delivery!.attempts).toMatchObject([{ attempt: 1, statusCode: 500, error: expect.stringContaining('500: temporarily broken') }, { attempt: 2, statusCode: 200 }]);

    const got = receivers.flaky.requests.filter((r) => header(r, 'webhook-id') === delivery!.eventKey);
    expect(got).toHaveLength(2);
    expect(got.map((r) => verified(hook.secret, r))).toEqual([true, true]);
    expect(verified('whsec_' + Buffer.alloc(32, 1).toString('base64'), got[0]!)).toBe(false);
    expect(got[0]!.headers['content-type']).toBe('application/json');
    // The receiver dedupes on Webhook-Id: one event.
    expect(new Set(got.map((r) => header(r, 'webhook-id'))).size).toBe(1);
    expect(got[0]!.rawBody).toBe(got[1]!.rawBody);

    const workflowId = webhookDeliveryWorkflowId(delivery!.id);
    const history = await historyText(temporal.client, workflowId);
    expect(history).toContain(delivery!.id);
    for (const text of [history, logs.join('\n'), workerLogs.join('\n')]) {
      expect(text).not.toContain(hook.secret.slice(6));
      expect(text).not.toContain(Buffer.from(hook.secret.slice(6), 'base64').toString('hex'));
    }
    recordHistory(config.TEMPORAL_ADDRESS, 'webhook-delivery-retried', workflowId, { closed: true });
  });

  it('does not retry a 410 or a 400: the delivery fails after one attempt', async () => {
    const { api, agentId } = await project();
    const gone = await subscribe(api, receivers.gone, ['task.completed']);
    const bad = await subscribe(api, receivers.bad, ['task.completed']);
    receivers.gone.respondWith(410, {}, 'gone');
    receivers.bad.respondWith(400, {}, 'bad');
    llm.script({ reply: 'ok' });
    await api('POST', `/v1/agents/${agentId}/tasks`, { input: 'Do it' });
    for (const [hook, receiver, status] of [[gone, receivers.gone, 410], [bad, receivers.bad, 400]] as const) {
      const [delivery] = await settledDeliveries(api, hook.id);
      // Marked failed only once the workflow gave up: a retried attempt would have come before.
      expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1, attempts: [{ attempt: 1, statusCode: status }] });
      expect(receiver.requests.filter((r) => header(r, 'webhook-id') === delivery!.eventKey)).toHaveLength(1);
      const result = await temporal.client.workflow.getHandle(webhookDeliveryWorkflowId(delivery!.id)).result();
      expect(result).toMatchObject({ status: 'failed' });
      if (status === 410) recordHistory(config.TEMPORAL_ADDRESS, 'webhook-delivery-rejected', webhookDeliveryWorkflowId(delivery!.id), { closed: true });
    }
  });

  it('delivers escalation events as they happen: opened, acknowledged, resolved', async () => {
    const { api, agentId } = await project();
    const hook = await subscribe(api, receivers.escalations, ['escalation.*']);
    const people = await createPeople(api, `${receivers.escalations.url}/people`);
    const ruleId = await createRule(api, {
      name: 'Pager', agentId, ruleType: 'manual', escalationAction: 'notify',
      policy: { levels: [{ targets: [people.oncall], channels: ['in_app'], ackTimeoutSeconds: 300 }] },
    });
    const conversationId = (await api('POST', '/v1/conversations', { agentId })).body.id as string;
    const opened = await api('POST', `/v1/conversations/${conversationId}/escalations`, { ruleId, reason: 'printer on fire' });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const eventId = opened.body.id as string;
    await waitForTimeline(api, eventId, 'notified');
    expect((await api('POST', `/v1/escalations/${eventId}/acknowledge`, { note: 'on it' })).status).toBe(200);
    expect((await api('POST', `/v1/escalations/${eventId}/resolve`, { note: 'fixed' })).status).toBe(200);
    const deliveries = await settledDeliveries(api, hook.id, 3);
    expect(deliveries.map((d) => [d.eventType, d.status]).reverse()).toEqual([
      ['escalation.opened', 'delivered'], ['escalation.acknowledged', 'delivered'], ['escalation.resolved', 'delivered'],
    ]);
    expect(deliveries.at(-1)!.payload.data).toMatchObject({ escalationId: eventId, ruleId, agentId, conversationId, reason: 'printer on fire' });
    const received = receivers.escalations.requests.filter((r) => r.path === '/hook');
    expect(received.map((r) => verified(hook.secret, r))).toEqual([true, true, true]);
  });

  it('delivers turn.completed when a real turn ends, with the answer and usage', async () => {
    const { api, agentId } = await project();
    const hook = await subscribe(api, receivers.turns, ['turn.*']);
    const conversationId = (await api('POST', '/v1/conversations', { agentId })).body.id as string;
    llm.script({ reply: 'Hello from the turn.' });
    expect((await api('POST', `/v1/conversations/${conversationId}/messages`, { content: 'hi' })).status).toBe(200);
    const [delivery] = await settledDeliveries(api, hook.id);
    expect(delivery).toMatchObject({
      eventType: 'turn.completed', eventKey: `turn.completed:${conversationId}:1`, status: 'delivered',
      payload: { type: 'turn.completed', data: { conversationId, turnIndex: 1, answer: 'Hello from the turn.', usage: expect.any(Object) } },
    });
    const got = receivers.turns.requests.filter((r) => header(r, 'webhook-id') === delivery!.eventKey);
    expect(got.map((r) => verified(hook.secret, r))).toEqual([true]);
  });

  it('delivers a terminal turn event appended to the turn log once, however often it is appended', async () => {
    const { api, agentId, projectId } = await project();
    const hook = await subscribe(api, receivers.turns, ['turn.completed', 'turn.failed']);
    const conversationId = (await api('POST', '/v1/conversations', { agentId })).body.id as string;
    const turn = { projectId, conversationId, turnIndex: 7 };
    const usage = { promptTokens: 1, completionTokens: 2, totalTokens: 3 };
    await appendTurnEvents(db.db, turn, [{ key: 'turn:started', type: 'turn.started' }]);
    // A retried activity appends the same terminal event again: one delivery.
    for (let i = 0; i < 2; i++) await appendTurnEvents(db.db, turn, [{ key: 'turn:completed', type: 'turn.completed', data: { answer: 'Hi', usage } }]);
    const [delivery] = await settledDeliveries(api, hook.id);
    expect(delivery).toMatchObject({
      eventType: 'turn.completed', eventKey: `turn.completed:${conversationId}:7`, status: 'delivered',
      payload: { type: 'turn.completed', data: { conversationId, turnIndex: 7, answer: 'Hi', usage } },
    });
    expect((await api('GET', `/v1/webhooks/${hook.id}/deliveries`)).body.items).toHaveLength(1);
    expect(receivers.turns.requests.filter((r) => header(r, 'webhook-id') === delivery!.eventKey)).toHaveLength(1);
    // Another project's subscriber hears nothing of this turn.
    const other = await project();
    const otherHook = await subscribe(other.api, receivers.turns, ['turn.*']);
    await appendTurnEvents(db.db, { ...turn, turnIndex: 8 }, [{ key: 'turn:failed', type: 'turn.failed', data: { reason: 'x' } }]);
    await settledDeliveries(api, hook.id, 2);
    expect((await other.api('GET', `/v1/webhooks/${otherHook.id}/deliveries`)).body.items).toEqual([]);
  });
});
