import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stackPerFile } from '../support/file-stack';
import { apiClient } from '../support/http';
import { testProject, type Stack } from '../support/stack';

/*
 * Tenant-written Liquid and regexes through the real gateway (in this process, as in every e2e file): what
 * used to exhaust the stack, bloat memory or backtrack without end is refused or cut, and the gateway keeps
 * serving.
 */

let stack: Stack;
stackPerFile((s) => (stack = s));

async function setup() {
  const api = apiClient(stack.gateway.url, (await testProject(stack.db)).adminKey);
  const agent = (await api('POST', '/v1/agents', { name: 'Support', goal: 'help', systemPrompt: 'Be kind.' })).body;
  const user = (await api('POST', '/v1/users', { email: `oncall-${randomUUID()}@example.com` })).body;
  return { api, agentId: agent.id as string, userId: user.id as string };
}

// 2,500 nested tags fit in the 64 KiB a template may have, and were deep enough to overflow liquidjs' parser.
const nested = (depth: number) => '{% if agent %}'.repeat(depth) + 'x' + '{% endif %}'.repeat(depth);
const deep = nested(2500);
const doubling = '{% assign s = "x" %}{% for i in (1..28) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{% if s contains "y" %}y{% endif %}';

describe('tenant expressions through the gateway', () => {
  it('refuses deeply nested templates and prompts at save with where, and cuts runaway captures in a preview', async () => {
    const { api } = await setup();
    const template = await api('POST', '/v1/escalation-templates', { name: 't', body: deep, messageType: 'webhook' });
    expect(template.status).toBe(400);
    expect(template.body.error).toMatchObject({ code: 'template_syntax_error', details: { field: 'body', line: 1, column: 561 } });
    expect(template.body.error.message).toContain('tags nested too deeply');

    const preview = await api('POST', '/v1/escalation-templates/preview', { body: doubling, messageType: 'sms' });
    expect(preview.status).toBe(422);
    expect(preview.body.error).toMatchObject({ details: { code: 'render_limit' }, message: expect.stringContaining('more memory than allowed') });

    const agent = await api('POST', '/v1/agents', { name: 'Deep', goal: 'g', systemPrompt: nested(1900) }); // prompts: 50,000 characters
    expect(agent.status).toBe(400);
    expect(JSON.stringify(agent.body.error)).toContain('tags nested too deeply');
    expect((await api('GET', '/v1/escalation-templates')).status).toBe(200);
  });

  it('refuses a deviation regex RE2 cannot run with a 400 naming the field; a catastrophic one is accepted and harmless', async () => {
    const s = await setup();
    const rule = (regex: string) => ({
      name: 'r', agentId: s.agentId, ruleType: 'deviation', escalationAction: 'notify', escalationTarget: s.userId, triggerCondition: { regex },
    });
    const refused = await s.api('POST', '/v1/escalation-rules', rule('(cancel)\\1'));
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([{ field: 'body.triggerCondition.regex', message: expect.stringContaining('RE2') }]);
    expect((await s.api('POST', '/v1/escalation-rules', rule('^(a+)+$'))).status).toBe(201);
  });

  it('refuses a tool schema pattern RE2 cannot run', async () => {
    const { api } = await setup();
    const tool = {
      name: 'lookup', description: 'd', category: 'data_source', toolType: 'api', status: 'active', config: { method: 'GET', url: 'http://127.0.0.1:9/x' },
      inputSchema: { type: 'object', properties: { id: { type: 'string', pattern: '^(?!admin).*$' } } },
    };
    const res = await api('POST', '/v1/tools', tool);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('RE2');
  });
});
