import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { escalationRule, escalationTemplate } from '../../src/db/schema';
import { templateLimits } from '../../src/escalations/notifications/template-render';
import { projectWithApi, stackPerFile } from '../support/file-stack';
import { apiClient } from '../support/http';
import type { Stack } from '../support/stack';

let stack: Stack;
stackPerFile((s) => (stack = s));

async function setup() {
  return projectWithApi(stack);
}

async function templateCount(projectId: string) {
  return (await stack.db.db.select({ id: escalationTemplate.id }).from(escalationTemplate).where(eq(escalationTemplate.projectId, projectId))).length;
}

const emailTemplate = {
  name: 'On-call email',
  subject: '[{{ rule.priority | upcase }}] {{ rule.name }}',
  body: 'Hi {{ recipient.name }},\n{% if conversation %}Conversation {{ conversation.id }}{% else %}No conversation{% endif %}\nPlan: {{ conversation.variables.plan }}',
  messageType: 'email',
  variables: { conversation: { variables: { plan: 'enterprise' } } },
};

describe('escalation templates', () => {
  it('creates, lists, reads, changes and deletes a template', async () => {
    const { api } = await setup();
    const created = await api('POST', '/v1/escalation-templates', emailTemplate);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'On-call email', messageType: 'email', description: null, createdBy: null, variables: emailTemplate.variables });
    expect(created.body.projectId).toBeUndefined();
    const id = created.body.id as string;
    expect(created.headers.get('location')).toBe(`/v1/escalation-templates/${id}`);

    const sms = (await api('POST', '/v1/escalation-templates', { name: 'SMS', body: '{{ rule.name }}', messageType: 'sms' })).body;
    const first = await api('GET', '/v1/escalation-templates?limit=1');
    expect(first.body.items.map((t: { id: string }) => t.id)).toEqual([sms.id]);
    const second = await api('GET', `/v1/escalation-templates?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body).toMatchObject({ items: [{ id }], nextCursor: null });
    expect((await api('GET', '/v1/escalation-templates?messageType=sms')).body.items).toHaveLength(1);

    expect((await api('GET', `/v1/escalation-templates/${id}`)).body).toMatchObject({ id, body: emailTemplate.body });
    const patched = await api('PATCH', `/v1/escalation-templates/${id}`, { description: 'for the night shift', body: 'Hello {{ agent.name }}' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ description: 'for the night shift', body: 'Hello {{ agent.name }}', subject: emailTemplate.subject });
    expect((await api('PATCH', `/v1/escalation-templates/${id}`, {})).status).toBe(400);
    expect((await api('PATCH', `/v1/escalation-templates/${id}`, { subject: null })).body.error.details).toEqual([{ field: 'body.subject', message: 'required for email templates' }]);

    expect((await api('DELETE', `/v1/escalation-templates/${id}`)).status).toBe(204);
    expect((await api('GET', `/v1/escalation-templates/${id}`)).status).toBe(404);
    expect((await api('DELETE', `/v1/escalation-templates/${id}`)).status).toBe(404);
  });

  it('validates sizes and the subject of email templates', async () => {
    const { api, projectId } = await setup();
    const noSubject = await api('POST', '/v1/escalation-templates', { name: 'x', body: 'b' });
    expect(noSubject.status).toBe(400);
    expect(noSubject.body.error.details).toEqual([{ field: 'body.subject', message: 'required for email templates' }]);
    const tooBig = await api('POST', '/v1/escalation-templates', { name: 'x', body: 'é'.repeat(33 * 1024), messageType: 'webhook' });
    expect(tooBig.body.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'body.body', message: 'at most 64 KiB' }] });
    expect((await api('POST', '/v1/escalation-templates', { name: 'x', subject: 's'.repeat(1025), body: 'b' })).status).toBe(400);
    expect(await templateCount(projectId)).toBe(0);
  });

  it('answers 400 with the line and column of a syntax error and writes nothing', async () => {
    const { api, projectId } = await setup();
    const res = await api('POST', '/v1/escalation-templates', { ...emailTemplate, body: 'Hello\n\n{% if conversation %}\n  {{ conversation.id }}\n' });
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({
      code: 'template_syntax_error',
      message: 'body: line 3, column 1: tag {% if conversation %} not closed',
      details: { field: 'body', line: 3, column: 1 },
    });
    const subject = await api('POST', '/v1/escalation-templates', { ...emailTemplate, subject: 'ok {{ agent.name | shout }}' });
    expect(subject.body.error).toMatchObject({ code: 'template_syntax_error', details: { field: 'subject', line: 1, column: 4 } });
    const include = await api('POST', '/v1/escalation-templates', { ...emailTemplate, body: "{% include 'package.json' %}" });
    expect(include.body.error).toMatchObject({ code: 'template_syntax_error', details: { field: 'body', line: 1, column: 1 } });
    expect(await templateCount(projectId)).toBe(0);

    const saved = (await api('POST', '/v1/escalation-templates', emailTemplate)).body;
    const broken = await api('PATCH', `/v1/escalation-templates/${saved.id}`, { body: 'a\n  {% endfor %}' });
    expect(broken.body.error).toMatchObject({ code: 'template_syntax_error', details: { field: 'body', line: 2, column: 3 } });
    expect((await api('GET', `/v1/escalation-templates/${saved.id}`)).body.body).toBe(emailTemplate.body);
  });

  it('previews with the sample variables, the stored ones and the given ones', async () => {
    const { api } = await setup();
    const { id } = (await api('POST', '/v1/escalation-templates', emailTemplate)).body;
    const sample = await api('POST', `/v1/escalation-templates/${id}/preview`);
    expect(sample.status).toBe(200);
    expect(sample.body.subject).toBe('[HIGH] Refund requests');
    expect(sample.body.body).toMatch(/^Hi Dana Whitfield,\nConversation [0-9a-f-]{36}\nPlan: enterprise$/);

    const given = await api('POST', `/v1/escalation-templates/${id}/preview`, { variables: { recipient: { name: 'Sam' }, rule: { priority: 'low' }, conversation: null } });
    expect(given.body).toEqual({ subject: '[LOW] Refund requests', body: 'Hi Sam,\nNo conversation\nPlan: ' });

    const unsaved = await api('POST', '/v1/escalation-templates/preview', { body: '{{ agent.name }} / {{ trigger.keyword }}', messageType: 'sms', variables: { trigger: { keyword: 'cancel' } } });
    expect(unsaved.body).toEqual({ subject: null, body: 'Support Assistant / cancel' });
    const bad = await api('POST', '/v1/escalation-templates/preview', { body: 'x\n{{ agent.name', messageType: 'sms' });
    expect(bad.body.error).toMatchObject({ code: 'template_syntax_error', details: { field: 'body', line: 2, column: 1 } });
  });

  it('answers 422 naming the limit that stopped a template, and keeps serving', async () => {
    const { api } = await setup();
    const undefinedVar = await api('POST', '/v1/escalation-templates/preview', { body: '{{ agent.nickname }}', messageType: 'in_app', subject: 't' });
    expect(undefinedVar.status).toBe(422);
    expect(undefinedVar.body.error).toMatchObject({ code: 'template_render_error', details: { code: 'undefined_variable', field: 'body', line: 1, column: 4 } });

    // Each template can end only by the limit its answer must name: a billion iterations with no output and
    // nothing allocated (time), and a range of 10^8 items (memory). Without the limit the request hangs
    // until the test times out, or another limit answers and the message check fails.
    const looping = '{% assign r = (1..1000) %}{% for a in r %}{% for b in r %}{% for c in r %}{% endfor %}{% endfor %}{% endfor %}';
    const { id } = (await api('POST', '/v1/escalation-templates', { name: 'loop', body: looping, messageType: 'webhook' })).body;
    const cases = [
      [`/v1/escalation-templates/${id}/preview`, {}, `rendering took longer than ${templateLimits.renderMs} ms`],
      ['/v1/escalation-templates/preview', { body: '{% for i in (1..100000000) %}{{ i }}{% endfor %}', messageType: 'sms' }, 'rendering needed more memory than allowed'],
    ] as const;
    for (const [path, body, limit] of cases) {
      const res = await api('POST', path, body);
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'template_render_error', message: expect.stringContaining(limit), details: { code: 'render_limit', field: 'body' } });
    }
    const fine = await api('POST', '/v1/escalation-templates/preview', { body: '{{ agent.name }}', messageType: 'sms' });
    expect(fine.body).toEqual({ subject: null, body: 'Support Assistant' });
  });

  it("hides other projects' templates and checks permissions", async () => {
    const mine = await setup();
    const theirs = await setup();
    const { id } = (await theirs.api('POST', '/v1/escalation-templates', emailTemplate)).body;
    for (const [method, path, body] of [
      ['GET', `/v1/escalation-templates/${id}`, undefined],
      ['PATCH', `/v1/escalation-templates/${id}`, { name: 'mine now' }],
      ['DELETE', `/v1/escalation-templates/${id}`, undefined],
      ['POST', `/v1/escalation-templates/${id}/preview`, {}],
    ] as const) {
      expect((await mine.api(method, path, body)).status).toBe(404);
    }
    expect((await mine.api('GET', '/v1/escalation-templates')).body.items).toEqual([]);
    expect((await theirs.api('GET', `/v1/escalation-templates/${id}`)).body.name).toBe('On-call email');

    const reader = apiClient(stack.gateway.url, await mine.key(['escalations:read']));
    const denied = await reader('POST', '/v1/escalation-templates', emailTemplate);
    expect(denied.status).toBe(403);
    expect(await templateCount(mine.projectId)).toBe(0);
    expect((await reader('POST', '/v1/escalation-templates/preview', { body: 'ok', messageType: 'sms' })).status).toBe(200);
    expect((await apiClient(stack.gateway.url, await mine.key(['agents:read']))('GET', '/v1/escalation-templates')).status).toBe(403);
  });

  it('deleting a template leaves the rules that used it without one', async () => {
    const { api, projectId } = await setup();
    const agent = (await api('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
    const { id } = (await api('POST', '/v1/escalation-templates', emailTemplate)).body;
    const [rule] = await stack.db.db.insert(escalationRule).values({
      projectId, agentId: agent.id, name: 'manual', ruleType: 'manual', escalationAction: 'notify', escalationTemplateId: id,
    }).returning();
    expect((await api('DELETE', `/v1/escalation-templates/${id}`)).status).toBe(204);
    const [after] = await stack.db.db.select().from(escalationRule).where(eq(escalationRule.id, rule!.id));
    expect(after!.escalationTemplateId).toBeNull();
  });
});
