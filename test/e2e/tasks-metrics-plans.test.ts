import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { agentTaskWorkflowId } from '../../workflows/contracts';
import { stackPerFile } from '../support/file-stack';
import { recordHistory } from '../support/histories';
import { apiClient, type ApiCall } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { testProject, type Stack } from '../support/stack';

const llm = new ScriptedLlm();
let stack: Stack;
stackPerFile((s) => (stack = s), llm);

async function setup() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'Worker', goal: 'do tasks', systemPrompt: 'Be exact.' })).body;
  return { api, projectId: project.projectId, agentId: agent.id as string };
}

async function taskSettled(api: ApiCall, id: string) {
  let task: { status: string } | undefined;
  await expect
    .poll(async () => (task = (await api('GET', `/v1/tasks/${id}`)).body).status, { timeout: 20_000, interval: 200 })
    .toMatch(/completed|failed|canceled/);
  return task as { status: string; result: { output: string } | null; error: string | null; startedAt: string; completedAt: string };
}

describe('tasks', () => {
  it('runs the agent once on an input and returns the result', async () => {
    const { api, agentId } = await setup();
    llm.script({ reply: 'Summary: all good.' });
    const created = await api('POST', `/v1/agents/${agentId}/tasks`, { input: 'Summarise the day', priority: 'high' });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ status: 'pending', priority: 'high', workflowId: `task:${created.body.id}` });
    const task = await taskSettled(api, created.body.id);
    expect(task).toMatchObject({ status: 'completed', result: { output: 'Summary: all good.' }, error: null });
    expect(Date.parse(task.completedAt)).toBeGreaterThanOrEqual(Date.parse(task.startedAt));
    expect(llm.requests.at(-1)!.messages.map((m) => m.content)).toEqual(['Be exact.', 'Summarise the day']);
    expect((await api('GET', `/v1/agents/${agentId}/tasks`)).body.items).toHaveLength(1);
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'agent-task-completed', agentTaskWorkflowId(created.body.id), { closed: true });
  });

  it('cancels a running task', async () => {
    const { api, agentId } = await setup();
    llm.script({ reply: 'too late', delayMs: 4000 });
    const created = (await api('POST', `/v1/agents/${agentId}/tasks`, { input: 'slow job' })).body;
    await expect.poll(async () => (await api('GET', `/v1/tasks/${created.id}`)).body.status, { timeout: 10_000 }).toBe('running');
    expect((await api('POST', `/v1/tasks/${created.id}/cancel`)).status).toBe(202);
    expect(await taskSettled(api, created.id)).toMatchObject({ status: 'canceled' });
    expect((await api('POST', `/v1/tasks/${created.id}/cancel`)).status).toBe(409);
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'agent-task-canceled', agentTaskWorkflowId(created.id), { closed: true });
  });
});

describe('agent config reaches the model', () => {
  it('sends the configured temperature, model and max tokens', async () => {
    const { api, agentId } = await setup();
    for (const [key, value] of [['temperature', 0.3], ['model', 'special-model'], ['max_tokens', 77]] as const) {
      expect((await api('PUT', `/v1/agents/${agentId}/config/${key}`, { value })).status).toBe(200);
    }
    const conv = (await api('POST', '/v1/conversations', { agentId })).body;
    llm.script({ reply: 'ok' });
    await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'hi' });
    expect(llm.requests.at(-1)).toMatchObject({ temperature: 0.3, model: 'special-model', max_tokens: 77 });
  });
});

describe('metrics', () => {
  it('records turns and feedback and aggregates them over a window', async () => {
    const { api, agentId } = await setup();
    const conv = (await api('POST', '/v1/conversations', { agentId })).body;
    llm.script({ reply: 'one' }, { reply: 'two' });
    await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'a' });
    await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'b' });
    await api('POST', `/v1/conversations/${conv.id}/turns/1/feedback`, { satisfaction: 2 });
    await api('POST', `/v1/conversations/${conv.id}/turns/2/feedback`, { satisfaction: 4 });
    const window = `from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
    const turns = (await api('GET', `/v1/metrics?name=turn_completed&agentId=${agentId}&bucket=day&${window}`)).body;
    expect(turns.buckets).toEqual([expect.objectContaining({ count: 2, sum: 2 })]);
    const sat = (await api('GET', `/v1/metrics?name=satisfaction&agentId=${agentId}&bucket=day&${window}`)).body;
    expect(sat.buckets[0]).toMatchObject({ count: 2, avg: 3, min: 2, max: 4 });
  });

  it('puts values in the right buckets and leaves out what is outside the window', async () => {
    const { api, projectId, agentId } = await setup();
    const at = (iso: string, v: number) => sql`(${projectId}::uuid, ${agentId}::uuid, 'tool_call_ms', ${v}, ${iso}::timestamptz)`;
    await stack.db.db.execute(sql`insert into metric (project_id, agent_id, metric_name, metric_value, recorded_at) values
      ${sql.join([at('2026-01-01T10:05:00Z', 10), at('2026-01-01T10:50:00Z', 30), at('2026-01-01T11:10:00Z', 100), at('2026-01-01T12:00:00Z', 999)], sql`, `)}`);
    const res = await api('GET', `/v1/metrics?name=tool_call_ms&agentId=${agentId}&bucket=hour&from=2026-01-01T10:00:00Z&to=2026-01-01T12:00:00Z`);
    expect(res.body.buckets).toEqual([
      { start: '2026-01-01T10:00:00.000Z', count: 2, sum: 40, avg: 20, min: 10, max: 30, p95: 29 },
      { start: '2026-01-01T11:00:00.000Z', count: 1, sum: 100, avg: 100, min: 100, max: 100, p95: 100 },
    ]);
    expect((await api('GET', `/v1/metrics?name=tool_call_ms&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`)).status).toBe(400);
  });

  it('covers the last 24 hours when the request names no from or to', async () => {
    const { api, projectId, agentId } = await setup();
    const ago = (hours: number, v: number) => sql`(${projectId}::uuid, ${agentId}::uuid, 'tool_call_ms', ${v}, now() - make_interval(hours => ${hours}))`;
    await stack.db.db.execute(sql`insert into metric (project_id, agent_id, metric_name, metric_value, recorded_at) values
      ${sql.join([ago(1, 10), ago(23, 30), ago(25, 1000)], sql`, `)}`);
    const res = await api('GET', `/v1/metrics?name=tool_call_ms&agentId=${agentId}&bucket=day`);
    expect(res.status).toBe(200);
    const total = (res.body.buckets as { count: number; sum: number }[]).reduce((t, b) => ({ count: t.count + b.count, sum: t.sum + b.sum }), { count: 0, sum: 0 });
    expect(total).toEqual({ count: 2, sum: 40 });
    // Only `to`: the 24 hours before it.
    const before = await api('GET', `/v1/metrics?name=tool_call_ms&agentId=${agentId}&bucket=day&to=${new Date(Date.now() - 2 * 3600_000).toISOString()}`);
    expect((before.body.buckets as { sum: number }[]).reduce((t, b) => t + b.sum, 0)).toBe(1030);
    expect((await api('GET', `/v1/metrics?name=tool_call_ms&from=${new Date(Date.now() + 3600_000).toISOString()}`)).status).toBe(400);
  });
});

describe('plans', () => {
  it('refuses the agent beyond the plan limit with 402 and writes nothing', async () => {
    const { api } = await setup(); // one agent exists
    expect((await api('PATCH', '/v1/plan', { plan: 'free', agentLimit: 2 })).body).toMatchObject({ plan: 'free', agentLimit: 2 });
    expect((await api('POST', '/v1/agents', { name: 'second', goal: 'g' })).status).toBe(201);
    const third = await api('POST', '/v1/agents', { name: 'third', goal: 'g' });
    expect(third.status).toBe(402);
    expect(third.body.error).toMatchObject({ code: 'plan_limit_reached', details: { limit: 2, used: 2, resource: 'agents' } });
    expect((await api('GET', '/v1/agents')).body.items.map((a: { name: string }) => a.name)).not.toContain('third');
  });

  it('refuses turns beyond the monthly limit', async () => {
    const { api, agentId } = await setup();
    await api('PATCH', '/v1/plan', { monthlyTurnLimit: 1 });
    const conv = (await api('POST', '/v1/conversations', { agentId })).body;
    llm.script({ reply: 'first' });
    const headers = { 'Idempotency-Key': 'turn-a' };
    expect((await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'a' }, headers)).status).toBe(200);
    const over = await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'b' });
    expect(over).toMatchObject({ status: 402, body: { error: { code: 'plan_limit_reached' } } });
    expect((await api('GET', `/v1/conversations/${conv.id}/messages`)).body.items).toHaveLength(2);
    // A retry of the accepted turn is still answered at the limit (the key is looked up first).
    const retry = await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'a' }, headers);
    expect(retry.status).toBe(200);
    expect(retry.body.message.content).toBe('first');
  });
});
