import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ingestionWorkflowId } from '../../workflows/contracts';
import { recordHistory } from '../support/histories';
import { apiClient } from '../support/http';
import { hashedEmbedding, ScriptedLlm } from '../support/scripted-llm';
import { startGateway, startStack, testConfig, testProject, type Stack } from '../support/stack';

/**
 * Whether the server offers pgvector: `npm test` says so in PGVECTOR_AVAILABLE (scripts/ensure-pgvector.mjs
 * installs it); a bare vitest run asks the server. Without it the hybrid tests are skipped, never under CI.
 */
let pgvector = false;
beforeAll(async () => {
  const flag = process.env.PGVECTOR_AVAILABLE;
  if (flag !== undefined) {
    pgvector = flag === '1';
    return;
  }
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select exists (select 1 from pg_available_extensions where name = 'vector') as ok`;
    pgvector = row?.ok === true;
  } finally {
    await sql.end();
  }
});

it.runIf(Boolean(process.env.CI))('CI has the vector extension, so hybrid search is tested and never skipped', () => {
  expect(pgvector).toBe(true);
});

const MODEL = 'test-embed';
/** The test embedder's idea of meaning: these words count as the ones they map to. */
const synonyms = { parcels: 'packages', parcel: 'packages', dispatched: 'ship' };
const embed = (inputs: string[]) => inputs.map((text) => hashedEmbedding(text, { dims: 256, synonyms }));
const handbook = [
  '# Refunds', 'Refunds are issued within 14 days to the original payment method.', '',
  '# Shipping', 'Packages ship every Tuesday from the Leeds warehouse.', '',
  '# Opening hours', 'The front desk is open from 6 am to midnight.',
].join('\n');
/** Its words appear in no chunk, so full-text search alone finds nothing; the embedder puts it near "Shipping". */
const QUESTION = 'When are parcels dispatched?';

describe('hybrid knowledge search (pgvector + full-text, reciprocal rank fusion)', () => {
  const llm = new ScriptedLlm();
  let stack: Stack;
  let ftsOnly: Awaited<ReturnType<typeof startGateway>>;

  beforeAll(async () => {
    if (!pgvector) return;
    await llm.start();
    llm.embedder = embed;
    stack = await startStack({ OPENAI_BASE_URL: llm.baseUrl, EMBEDDINGS_MODEL: MODEL });
    // The same database and Temporal, but a gateway configured without embeddings.
    ftsOnly = await startGateway(testConfig({ OPENAI_BASE_URL: llm.baseUrl }), stack.db, stack.temporal.client);
  });
  beforeEach(({ skip }) => {
    if (!pgvector) skip();
  });
  afterEach(() => {
    expect(llm.failures).toEqual([]);
    llm.embedder = embed;
  });
  afterAll(async () => {
    await ftsOnly?.close();
    await stack?.stop();
    await llm.stop();
  });

  /** A document as it is once its ingestion workflow (indexing, then embeddings) has finished. */
  async function ingest(content: string) {
    const project = await testProject(stack.db);
    const api = apiClient(stack.gateway.url, project.adminKey);
    const kb = (await api('POST', '/v1/knowledge-bases', { name: 'Handbook' })).body;
    const doc = (await api('POST', `/v1/knowledge-bases/${kb.id}/documents`, { title: 'Handbook', content, contentType: 'text/markdown' })).body;
    const result = await stack.temporal.client.workflow.getHandle(`ingest:${doc.id}`).result();
    const done = (await api('GET', `/v1/knowledge-bases/${kb.id}/documents/${doc.id}`)).body;
    return { api, project, kb, doc, result, done };
  }

  const embeddingRows = (documentId: string) => stack.db.sql<Array<{ model: string; dims: number }>>`
    select e.model, e.dims from knowledge_chunk_embedding e join knowledge_chunk c on c.id = e.chunk_id where c.document_id = ${documentId}`;

  it('embeds the chunks at ingestion and finds by meaning what full-text search misses', async () => {
    const { api, project, kb, doc, result, done } = await ingest(handbook);
    expect(result).toEqual({ chunks: 3, embedded: 3 });
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'ingestion-embedded', ingestionWorkflowId(doc.id));
    expect(done).toMatchObject({ processingStatus: 'completed', processingError: null, totalChunks: 3 });
    const rows = await embeddingRows(doc.id);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.model === MODEL && r.dims === 256)).toBe(true);
    expect(llm.embeddingRequests.some((r) => Array.isArray(r.input) && r.input.some((t) => t.includes('Leeds warehouse')))).toBe(true);

    const hybrid = (await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: QUESTION })).body.items;
    expect(hybrid[0]).toMatchObject({ heading: 'Shipping', matchedBy: ['vector'] });
    expect(hybrid[0].content).toMatch(/Leeds warehouse/);
    const both = (await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'refunds issued' })).body.items;
    expect(both[0]).toMatchObject({ heading: 'Refunds', matchedBy: ['fts', 'vector'] });

    const plain = apiClient(ftsOnly.url, project.adminKey);
    expect((await plain('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: QUESTION })).body.items).toEqual([]);
    expect((await plain('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'refunds issued' })).body.items[0]).toMatchObject({ matchedBy: ['fts'] });

    // When the query cannot be embedded, the search answers from full-text search instead of failing.
    llm.embedder = () => ({ status: 503 });
    expect((await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'refunds issued' })).body.items[0]).toMatchObject({ heading: 'Refunds', matchedBy: ['fts'] });
  });

  it('puts the chunk found by meaning into the turn\'s prompt', async () => {
    const { api, kb } = await ingest(`${handbook}\n\n# Gift cards\nGift cards never expire.`);
    const agent = (await api('POST', '/v1/agents', { name: 'Support', goal: 'help' })).body;
    await api('POST', `/v1/agents/${agent.id}/knowledge`, { knowledgeBaseId: kb.id, priority: 1 });
    const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
    const before = llm.embeddingRequests.length;

    llm.script({ reply: 'They ship on Tuesdays [S1].' });
    const res = await api('POST', `/v1/conversations/${conv.id}/messages`, { content: QUESTION });
    expect(res.status).toBe(200);
    expect(llm.embeddingRequests.slice(before)).toEqual([expect.objectContaining({ model: MODEL, input: [QUESTION] })]);
    const prompt = llm.requests.at(-1)!.messages.map((m) => m.content).join('\n');
    expect(prompt).toMatch(/\[S1\] Handbook > Shipping\nPackages ship every Tuesday/);
    expect(res.body.turn.knowledgeSources).toEqual([{ knowledgeBaseId: kb.id, query: QUESTION, resultsCount: expect.any(Number), usedInResponse: true }]);
  });

  it('keeps a document searchable by full text through an embeddings outage, and says what failed', async () => {
    llm.embedder = () => ({ status: 500, body: { error: { message: 'embeddings backend down', type: 'server_error' } } });
    const { api, kb, doc, result, done } = await ingest('# Returns\nReturned items are inspected at the Bristol depot.');
    expect(result).toEqual({ chunks: 1, embedded: 0 });
    recordHistory(stack.config.TEMPORAL_ADDRESS, 'ingestion-embeddings-failed', ingestionWorkflowId(doc.id));
    expect(done.processingStatus).toBe('completed');
    expect(done.processingError).toMatch(/^embeddings: failed: .*500/);
    expect(await embeddingRows(doc.id)).toEqual([]);
    // The base has no embeddings, so search is full-text only (no query embedding is even asked for).
    const hits = (await api('POST', `/v1/knowledge-bases/${kb.id}/search`, { query: 'Bristol depot' })).body.items;
    expect(hits[0]).toMatchObject({ documentId: doc.id, matchedBy: ['fts'] });
  });
});
