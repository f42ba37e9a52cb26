import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiCall } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { ToolServer } from '../support/tool-server';
import { ingestionWorkflowId } from '../../workflows/contracts';
import { recordHistory } from '../support/histories';
import { startStack, testProject, type Stack } from '../support/stack';

const fixtures = path.join(__dirname, '..', 'fixtures', 'knowledge');
const llm = new ScriptedLlm();
const pages = new ToolServer({
  '/faq.html': () => ({
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: '<html><body><nav>menu</nav><h1>Opening hours</h1><p>The front desk is open from 6&nbsp;am to midnight.</p></body></html>',
  }),
});
const elsewhere = new ToolServer({ '/secret': () => ({ status: 200, body: 'internal only' }) });
/** Ingestion attempts to fail on purpose (an outage longer than the retry policy). */
let failNextIngestions = 0;
let stack: Stack;

beforeAll(async () => {
  await Promise.all([llm.start(), pages.start(), elsewhere.start()]);
  stack = await startStack({ OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${pages.port}` }, {
    activities: (a) => ({
      ...a,
      ingestKnowledgeDocument: async (documentId: string) => {
        if (failNextIngestions > 0) {
          failNextIngestions--;
          throw ApplicationFailure.create({ type: 'DocumentUnreadable', message: 'injected: storage unavailable', nonRetryable: true });
        }
        return a.ingestKnowledgeDocument(documentId);
      },
    }),
  });
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await stack.stop();
  await Promise.all([llm.stop(), pages.stop(), elsewhere.stop()]);
});

async function upload(key: string, kbId: string, file: string, type: string, name = path.basename(file)) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)], { type }), name);
  const res = await fetch(`${stack.gateway.url}/v1/knowledge-bases/${kbId}/documents/upload`, {
    method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form,
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as any };
}

async function settled(api: ApiCall, kbId: string, docId: string) {
  let doc: { processingStatus: string } | undefined;
  await expect
    .poll(async () => (doc = (await api('GET', `/v1/knowledge-bases/${kbId}/documents/${docId}`)).body).processingStatus, { timeout: 20_000, interval: 200 })
    .toMatch(/completed|failed/);
  return doc as { processingStatus: string; processingError: string | null; totalChunks: number };
}

async function setup() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const kb = (await api('POST', '/v1/knowledge-bases', { name: 'Handbook' })).body;
  return { api, key: project.adminKey, kb };
}

describe('knowledge bases (real ingestion workflows, Postgres full-text search)', () => {
  it('ingests a Markdown file and a PDF, finds the right chunk, and does not duplicate re-uploads', async () => {
    const { api, key, kb } = await setup();
    const md = await upload(key, kb.id, path.join(fixtures, 'handbook.md'), 'text/markdown');
    const pdf = await upload(key, kb.id, path.join(fixtures, 'warranty.pdf'), 'application/pdf');
    expect([md.status, pdf.status]).toEqual([202, 202]);
    expect(await settled(api, kb.id, md.body.id)).toMatchObject({ processingStatus: 'completed' });
    expect((await settled(api, kb.id, pdf.body.id)).totalChunks).toBeGreaterThan(0);

    const refunds = await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'refunds issued' });
    expect(refunds.body.items[0].content).toMatch(/Refunds are issued within 14 days/);
    const warranty = await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'warranty manufacturing defects' });
    expect(warranty.body.items[0]).toMatchObject({ documentId: pdf.body.id });
    expect(warranty.body.items[0].content).toMatch(/24 months/);

    const again = await upload(key, kb.id, path.join(fixtures, 'handbook.md'), 'text/markdown', 'copy.md');
    expect(again).toMatchObject({ status: 200, body: { id: md.body.id } });
    expect((await api('GET', `/v1/knowledge-bases/${kb.id}/documents`)).body.items).toHaveLength(2);
  });

  it('refuses a file that claims to be a PDF but is not', async () => {
    const { key, kb } = await setup();
    const form = new FormData();
    form.append('file', new Blob(['just text'], { type: 'application/pdf' }), 'fake.pdf');
    const res = await fetch(`${stack.gateway.url}/v1/knowledge-bases/${kb.id}/documents/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/body.file/);
  });

  it('reports a failed ingestion with its reason and ingests it on retry', async () => {
    const { api, kb } = await setup();
    failNextIngestions = 1;
    const doc = (await api('POST', `/v1/knowledge-bases/${kb.id}/documents`, { title: 'FAQ', content: '# Shipping\nParcels ship every Tuesday.' })).body;
    expect(await settled(api, kb.id, doc.id)).toMatchObject({ processingStatus: 'failed', processingError: expect.stringMatching(/storage unavailable/) });
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'ingestion-unreadable', ingestionWorkflowId(doc.id), { closed: true });
    expect((await api('POST', `/v1/knowledge-bases/${kb.id}/documents/${doc.id}/retry`)).status).toBe(202);
    expect(await settled(api, kb.id, doc.id)).toMatchObject({ processingStatus: 'completed', processingError: null });
    expect((await api('POST', `/v1/knowledge-bases/${kb.id}/documents/${doc.id}/retry`)).status).toBe(409);
  });

  it('puts the best chunks in the prompt with source markers, from assigned bases only, in priority order', async () => {
    const { api, kb } = await setup();
    const other = (await api('POST', '/v1/knowledge-bases', { name: 'Other' })).body;
    const unassigned = (await api('POST', '/v1/knowledge-bases', { name: 'Secret' })).body;
    const docs = [
      [kb.id, '# Refunds\nRefunds are issued within 14 days to the original payment method.'],
      [other.id, '# Refunds (legacy)\nLegacy refunds took 30 days by cheque.'],
      [unassigned.id, '# Refunds (internal)\nInternal note: refunds over 500 need approval.'],
    ];
    for (const [kbId, content] of docs) {
      const d = (await api('POST', `/v1/knowledge-bases/${kbId}/documents`, { title: 'Policy', content })).body;
      await settled(api, kbId!, d.id);
    }
    const agent = (await api('POST', '/v1/agents', { name: 'Support', goal: 'help' })).body;
    await api('POST', `/v1/agents/${agent.id}/knowledge`, { knowledgeBaseId: other.id, priority: 5 });
    await api('POST', `/v1/agents/${agent.id}/knowledge`, { knowledgeBaseId: kb.id, priority: 1 });
    const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;

    llm.script({ reply: 'Refunds take up to 14 days [S1].' });
    const res = await api('POST', `/v1/conversations/${conv.id}/messages`, { content: 'How long do refunds take?' });
    expect(res.status).toBe(200);
    const prompt = llm.requests.at(-1)!.messages.map((m) => m.content).join('\n');
    expect(prompt).toMatch(/\[S1\] Policy > Refunds\nRefunds are issued within 14 days/);
    expect(prompt).toMatch(/\[S2\].*\nLegacy refunds took 30 days/);
    expect(prompt).not.toMatch(/Internal note/);
    expect(res.body.turn.knowledgeSources).toEqual([
      { knowledgeBaseId: kb.id, query: 'How long do refunds take?', resultsCount: 1, usedInResponse: true },
      { knowledgeBaseId: other.id, query: 'How long do refunds take?', resultsCount: 1, usedInResponse: false },
    ]);
  });

  it('adds a web page by URL through the outbound-address guard, and refuses addresses it does not allow', async () => {
    const { api, kb } = await setup();
    const page = (await api('POST', `/v1/knowledge-bases/${kb.id}/documents/url`, { url: pages.url('/faq.html') })).body;
    expect(await settled(api, kb.id, page.id)).toMatchObject({ processingStatus: 'completed', contentType: 'text/html' });
    const hits = (await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'front desk open' })).body.items;
    expect(hits[0]).toMatchObject({ heading: 'Opening hours' });
    expect(hits[0].content).toMatch(/open from 6 am to midnight/);
    expect(hits[0].content).not.toMatch(/menu/);

    const blocked = (await api('POST', `/v1/knowledge-bases/${kb.id}/documents/url`, { url: elsewhere.url('/secret') })).body;
    expect(await settled(api, kb.id, blocked.id)).toMatchObject({ processingStatus: 'failed', processingError: expect.stringMatching(/not allow-listed/) });
    expect(elsewhere.seen).toHaveLength(0);
    expect((await api('POST', `/v1/knowledge-bases/${kb.id}/documents/url`, { url: 'file:///etc/passwd' })).status).toBe(400);
  });
});
