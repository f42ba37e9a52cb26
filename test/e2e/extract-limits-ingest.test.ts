import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnowledgeActivities } from '../../activities/knowledge';
import { EXTRACTION_LIMITS } from '../../src/knowledge/extract-isolated';
import { apiClient, type ApiCall } from '../support/http';
import { startStack, testConfig, testDb, testProject, type Stack } from '../support/stack';

/** Ingestion attempts per document: a document that breaks a limit must be tried once, not three times. */
const attempts = new Map<string, number>();
const db = testDb(testConfig());
let stack: Stack;

beforeAll(async () => {
  // The real activity, with a CPU limit a hostile page reaches quickly on any machine (the default is 30 s).
  const limited = createKnowledgeActivities({ db: db.db, extractionLimits: { ...EXTRACTION_LIMITS, cpuSeconds: 4 } });
  stack = await startStack({}, {
    activities: (a) => ({
      ...a,
      ingestKnowledgeDocument: (documentId: string) => {
        attempts.set(documentId, (attempts.get(documentId) ?? 0) + 1);
        return limited.ingestKnowledgeDocument(documentId);
      },
    }),
  });
});
afterAll(async () => {
  await stack.stop();
  await db.close();
});

async function upload(key: string, kbId: string, html: string) {
  const form = new FormData();
  form.append('file', new Blob([html], { type: 'text/html' }), 'page.html');
  const res = await fetch(`${stack.gateway.url}/v1/knowledge-bases/${kbId}/documents/upload`, {
    method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function settled(api: ApiCall, kbId: string, docId: string) {
  let doc: { processingStatus: string; processingError: string | null } | undefined;
  await expect
    .poll(async () => (doc = (await api('GET', `/v1/knowledge-bases/${kbId}/documents/${docId}`)).body).processingStatus, { timeout: 150_000, interval: 250 })
    .toMatch(/completed|failed/);
  return doc!;
}

describe('hostile documents (real ingestion workflow)', () => {
  it('fails a document at the CPU limit or over its size limit with the reason, without retrying it', async () => {
    const project = await testProject(stack.db);
    const api = apiClient(stack.gateway.url, project.adminKey);
    const kb = (await api('POST', '/v1/knowledge-bases', { name: 'Pages' })).body as { id: string };
    // ~5 MB of unclosed inline tags: 8-11 s of CPU here, well over the 4 s this worker allows, while a small
    // page needs well under it (the child's own start-up through tsx takes 0.7-2 s of CPU under load).
    const slow = await upload(project.adminKey, kb.id, '<b>'.repeat(1_700_000));
    const huge = await upload(project.adminKey, kb.id, `<p>${'a'.repeat(6 * 1024 * 1024)}</p>`);
    const fine = await upload(project.adminKey, kb.id, '<h1>Hours</h1><p>Open from 6 am.</p>');

    expect(await settled(api, kb.id, slow)).toMatchObject({ processingStatus: 'failed', processingError: expect.stringMatching(/CPU time limit of 4 s/) });
    expect(await settled(api, kb.id, huge)).toMatchObject({ processingStatus: 'failed', processingError: expect.stringMatching(/limited to 5242880 bytes/) });
    expect(await settled(api, kb.id, fine)).toMatchObject({ processingStatus: 'completed' });
    expect([attempts.get(slow), attempts.get(huge), attempts.get(fine)]).toEqual([1, 1, 1]);
  }, 240_000);
});
