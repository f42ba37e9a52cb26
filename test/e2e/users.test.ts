import { describe, expect, it } from 'vitest';
import { projectWithApi, stackPerFile } from '../support/file-stack';
import { apiClient } from '../support/http';
import type { Stack } from '../support/stack';

let stack: Stack;
stackPerFile((s) => (stack = s));

async function setup() {
  return projectWithApi(stack);
}

const alice = { email: 'Alice@Example.com', name: 'Alice', phone: '+14155550123', webhookUrl: 'https://hooks.example.com/alice', avatarUrl: null };

describe('users', () => {
  it('creates, reads, lists, changes and deletes a person', async () => {
    const { api } = await setup();
    const created = await api('POST', '/v1/users', alice);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'alice@example.com', name: 'Alice', phone: '+14155550123', webhookUrl: alice.webhookUrl, avatarUrl: null });
    expect(created.body).not.toHaveProperty('projectId');
    expect(created.headers.get('location')).toBe(`/v1/users/${created.body.id}`);
    const id = created.body.id as string;

    expect((await api('GET', `/v1/users/${id}`)).body).toEqual(created.body);
    const bob = (await api('POST', '/v1/users', { email: 'bob@example.com' })).body;
    expect(bob).toMatchObject({ name: null, phone: null, webhookUrl: null, avatarUrl: null });

    const first = await api('GET', '/v1/users?limit=1');
    expect(first.body.items.map((u: { id: string }) => u.id)).toEqual([bob.id]);
    const second = await api('GET', `/v1/users?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ items: [{ id }], nextCursor: null });

    const patched = await api('PATCH', `/v1/users/${id}`, { name: 'Alice B.', phone: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Alice B.', phone: null, email: 'alice@example.com' });

    expect((await api('DELETE', `/v1/users/${id}`)).status).toBe(204);
    expect((await api('GET', `/v1/users/${id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/users/${id}`)).status).toBe(404);
  });

  it('refuses a second user with the same email in a project (any case), not in another project', async () => {
    const { api } = await setup();
    expect((await api('POST', '/v1/users', alice)).status).toBe(201);
    const dup = await api('POST', '/v1/users', { email: 'ALICE@example.com ' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('user_exists');

    const bob = (await api('POST', '/v1/users', { email: 'bob@example.com' })).body;
    const renamed = await api('PATCH', `/v1/users/${bob.id}`, { email: 'alice@example.com' });
    expect(renamed.status).toBe(409);
    expect(renamed.body.error.code).toBe('user_exists');

    const other = await setup();
    expect((await other.api('POST', '/v1/users', alice)).status).toBe(201);
  });

  it('validates email, phone and URLs, naming the field', async () => {
    const { api } = await setup();
    const cases: [Record<string, unknown>, string][] = [
      [{ email: 'not-an-email' }, 'body.email'],
      [{ email: 'c@example.com', phone: '4155550123' }, 'body.phone'],
      [{ email: 'c@example.com', phone: '+0155550123' }, 'body.phone'],
      [{ email: 'c@example.com', webhookUrl: 'ftp://example.com/hook' }, 'body.webhookUrl'],
      [{ email: 'c@example.com', avatarUrl: 'javascript:alert(1)' }, 'body.avatarUrl'],
      [{ email: 'c@example.com', role: 'admin' }, 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await api('POST', '/v1/users', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const user = (await api('POST', '/v1/users', { email: 'c@example.com' })).body;
    expect((await api('PATCH', `/v1/users/${user.id}`, {})).status).toBe(400);
    expect((await api('PATCH', `/v1/users/${user.id}`, { phone: '+1 415 555' })).body.error.details[0].field).toBe('body.phone');
    expect((await api('GET', '/v1/users')).body.items).toHaveLength(1);
  });

  it("keeps projects apart and checks the key's permissions", async () => {
    const a = await setup();
    const b = await setup();
    const user = (await a.api('POST', '/v1/users', alice)).body;
    expect((await b.api('GET', `/v1/users/${user.id}`)).status).toBe(404);
    expect((await b.api('PATCH', `/v1/users/${user.id}`, { name: 'x' })).status).toBe(404);
    expect((await b.api('DELETE', `/v1/users/${user.id}`)).status).toBe(404);
    expect((await b.api('GET', '/v1/users')).body.items).toEqual([]);

    const reader = apiClient(stack.gateway.url, await a.key(['users:read']));
    expect((await reader('GET', `/v1/users/${user.id}`)).status).toBe(200);
    expect((await reader('POST', '/v1/users', { email: 'd@example.com' })).status).toBe(403);
  });

  it('refuses to delete a person an escalation rule escalates to, naming the rules', async () => {
    const { api } = await setup();
    const agent = (await api('POST', '/v1/agents', { name: 'Support', goal: 'help', systemPrompt: 'Be kind.' })).body;
    const target = (await api('POST', '/v1/users', { email: 'target@example.com' })).body;
    const onCall = (await api('POST', '/v1/users', { email: 'oncall@example.com' })).body;
    const base = { agentId: agent.id, ruleType: 'manual', escalationAction: 'notify' };
    const byTarget = (await api('POST', '/v1/escalation-rules', { ...base, name: 'By target', escalationTarget: target.id })).body;
    const byLevel = (await api('POST', '/v1/escalation-rules', {
      ...base, name: 'By level', policy: { levels: [{ targets: [target.id, onCall.id], channels: ['email'], ackTimeoutSeconds: 60 }] },
    })).body;

    const refused = await api('DELETE', `/v1/users/${target.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'user_in_use', details: { rules: [{ id: byLevel.id, name: 'By level' }, { id: byTarget.id, name: 'By target' }] } });
    const levelOnly = await api('DELETE', `/v1/users/${onCall.id}`);
    expect(levelOnly.status).toBe(409);
    expect(levelOnly.body.error.details.rules).toEqual([{ id: byLevel.id, name: 'By level' }]);
    expect((await api('GET', `/v1/users/${target.id}`)).status).toBe(200);

    expect((await api('DELETE', `/v1/escalation-rules/${byLevel.id}`)).status).toBe(204);
    expect((await api('DELETE', `/v1/users/${onCall.id}`)).status).toBe(204);
    expect((await api('DELETE', `/v1/users/${target.id}`)).body.error.details.rules).toEqual([{ id: byTarget.id, name: 'By target' }]);
  });
});
