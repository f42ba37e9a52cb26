import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { and, desc, eq } from 'drizzle-orm';
import { knowledgeBase, knowledgeDocument } from '../../db/schema/index.js';
import { querySemantics } from '../../knowledge/embeddings.js';
import { ExtractionError, sniffContentType } from '../../knowledge/extract.js';
import { searchChunks } from '../../knowledge/search.js';
import { idParams, jsonObject, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { GatewayDeps, RouteContext } from '../deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { readUpload } from './upload.js';

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** An operator's search waits this long for the query embedding, then answers from full-text search alone. */
const QUERY_EMBED_TIMEOUT_MS = 10_000;
const kbBody = z.object({ name: z.string().trim().min(1).max(200), description: z.string().max(4000).nullable().optional() }).strict();
const textDocumentBody = z
  .object({
    title: z.string().trim().min(1).max(500),
    content: z.string().min(1).max(2_000_000),
    contentType: z.enum(['text/plain', 'text/markdown', 'text/html']).default('text/markdown'),
    tags: z.array(z.string().max(100)).max(50).optional(),
    metadata: jsonObject.optional(),
  })
  .strict()
  .openapi('TextDocument');
const urlDocumentBody = z
  .object({ url: z.string().url().max(2000).refine((u) => /^https?:\/\//i.test(u), 'http or https only'), title: z.string().trim().min(1).max(500).optional() })
  .strict()
  .openapi('UrlDocument');
/**
 * The fields of a multipart upload, by the JSON route's rules. A blank title (a form's empty input) means
 * "use the file's name", as it always has.
 */
const uploadFields = z
  .object({ title: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), textDocumentBody.shape.title.optional()) })
  .strict();
const docParams = z.object({ id: z.string().uuid(), docId: z.string().uuid() });
const searchBody = z.object({ query: z.string().trim().min(1).max(1000), limit: z.number().int().min(1).max(50).default(5) }).strict();

type DocRow = typeof knowledgeDocument.$inferSelect;
const docView = ({ rawContent: _c, rawText: _t, ...doc }: DocRow) => toIso(doc);

/** Starts (or restarts, for a failed document) the ingestion workflow of one document. */
async function startIngestion(deps: GatewayDeps, doc: DocRow) {
  const workflowId = `ingest:${doc.id}`;
  try {
    await deps.temporal.workflow.start('ingestKnowledgeDocumentWorkflow', {
      taskQueue: deps.settings.taskQueue, workflowId, args: [{ documentId: doc.id }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE, staticSummary: `Ingest "${doc.title}"`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError('ingestion_running', 'this document is being ingested');
    throw err;
  }
  await deps.db.update(knowledgeDocument).set({ workflowId, processingStatus: 'pending' }).where(eq(knowledgeDocument.id, doc.id));
}

export function registerKnowledgeRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Knowledge';
  const loadKb = async (projectId: string, id: string) => {
    const [kb] = await db.select().from(knowledgeBase).where(and(eq(knowledgeBase.id, id), eq(knowledgeBase.projectId, projectId)));
    if (!kb) throw new NotFoundError('knowledge base');
    return kb;
  };
  const loadDoc = async (projectId: string, kbId: string, docId: string) => {
    await loadKb(projectId, kbId);
    const [doc] = await db.select().from(knowledgeDocument).where(and(eq(knowledgeDocument.id, docId), eq(knowledgeDocument.knowledgeBaseId, kbId)));
    if (!doc) throw new NotFoundError('document');
    return doc;
  };
  /** Same bytes in the same base: the existing document answers (200), no second set of chunks. */
  const addDocument = async (kbId: string, values: Omit<typeof knowledgeDocument.$inferInsert, 'knowledgeBaseId' | 'contentHash'>, bytes: Buffer) => {
    const contentHash = createHash('sha256').update(bytes).digest('hex');
    const [doc] = await db.insert(knowledgeDocument).values({ ...values, knowledgeBaseId: kbId, contentHash }).onConflictDoNothing().returning();
    if (!doc) {
      const [existing] = await db.select().from(knowledgeDocument).where(and(eq(knowledgeDocument.knowledgeBaseId, kbId), eq(knowledgeDocument.contentHash, contentHash)));
      return { status: 200, body: docView(existing!) };
    }
    await startIngestion(deps, doc);
    return { status: 202, body: docView({ ...doc, processingStatus: 'pending' }) };
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases', tag, summary: 'Create a knowledge base', permission: 'knowledge:write', body: kbBody,
    responses: { 201: { description: 'Created' } },
    handler: async ({ body, auth }) => {
      const [kb] = await db.insert(knowledgeBase).values({ ...body, projectId: auth.projectId }).returning();
      return { status: 201, body: toIso(kb!) };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases', tag, summary: 'List knowledge bases', permission: 'knowledge:read', query: pageQuery,
    responses: { 200: { description: 'A page', schema: pageSchema(z.record(z.string(), z.unknown())) } },
    handler: async ({ query, auth }) => {
      const page = keyset(knowledgeBase, query.cursor);
      const rows = await db.select().from(knowledgeBase).where(and(eq(knowledgeBase.projectId, auth.projectId), page.where)).orderBy(...page.orderBy).limit(query.limit + 1);
      return { status: 200, body: toPage(rows, query.limit, toIso) };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases/:id', tag, summary: 'Get a knowledge base', permission: 'knowledge:read', params: idParams,
    responses: { 200: { description: 'The base' } },
    handler: async ({ params, auth }) => ({ status: 200, body: toIso(await loadKb(auth.projectId, params.id)) }),
  });
  defineRoute(router, registry, {
    method: 'patch', path: '/v1/knowledge-bases/:id', tag, summary: 'Rename or describe a knowledge base', permission: 'knowledge:write',
    params: idParams, body: kbBody.partial().refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' }),
    responses: { 200: { description: 'The base' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      const [kb] = await db.update(knowledgeBase).set(body).where(eq(knowledgeBase.id, params.id)).returning();
      return { status: 200, body: toIso(kb!) };
    },
  });
  defineRoute(router, registry, {
    method: 'delete', path: '/v1/knowledge-bases/:id', tag, summary: 'Delete a knowledge base with its documents', permission: 'knowledge:write',
    params: idParams, responses: { 204: { description: 'Deleted' } },
    handler: async ({ params, auth }) => {
      await loadKb(auth.projectId, params.id);
      await db.delete(knowledgeBase).where(eq(knowledgeBase.id, params.id));
      return { status: 204 };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents', tag, summary: 'Add a text, Markdown or HTML document (ingested by a workflow)',
    permission: 'knowledge:write', params: idParams, body: textDocumentBody,
    responses: { 202: { description: 'Accepted; ingestion runs' }, 200: { description: 'Same content already in this base' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      const { content, ...rest } = body;
      return addDocument(params.id, { ...rest, rawText: content, fileSize: Buffer.byteLength(content) }, Buffer.from(content, 'utf8'));
    },
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents/upload', tag,
    summary: `Upload a file (multipart/form-data: part "file", PDF, Markdown, HTML or text, at most ${MAX_UPLOAD_BYTES} bytes; optional field "title", as in a text document)`,
    permission: 'knowledge:write', params: idParams,
    responses: { 202: { description: 'Accepted; ingestion runs' }, 413: { description: 'Too large' } },
    handler: async ({ params, auth, req }) => {
      await loadKb(auth.projectId, params.id);
      const upload = await readUpload(req, { maxBytes: MAX_UPLOAD_BYTES, fields: uploadFields });
      let contentType: string;
      try {
        contentType = sniffContentType(upload.data, upload.mimeType, upload.fileName);
      } catch (err) {
        if (err instanceof ExtractionError) throw new ValidationError(`invalid request: body.file: ${err.message}`, [{ field: 'body.file', message: err.message }]);
        throw err;
      }
      const title = upload.fields.title ?? (upload.fileName || 'upload');
      return addDocument(params.id, { title, contentType, fileName: upload.fileName, fileSize: upload.data.length, rawContent: upload.data }, upload.data);
    },
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents/url', tag,
    summary: 'Add a web page (HTML, Markdown or text) by URL; the worker fetches it through the outbound-address guard',
    permission: 'knowledge:write', params: idParams, body: urlDocumentBody,
    responses: { 202: { description: 'Accepted; ingestion runs' }, 200: { description: 'This URL is already in this base' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      return addDocument(params.id, { title: body.title ?? body.url, source: body.url }, Buffer.from(`url:${body.url}`, 'utf8'));
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases/:id/documents', tag, summary: 'Documents with their processing status', permission: 'knowledge:read',
    params: idParams, responses: { 200: { description: 'Documents' } },
    handler: async ({ params, auth }) => {
      await loadKb(auth.projectId, params.id);
      const rows = await db.select().from(knowledgeDocument).where(eq(knowledgeDocument.knowledgeBaseId, params.id)).orderBy(desc(knowledgeDocument.createdAt));
      return { status: 200, body: { items: rows.map(docView), nextCursor: null } };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases/:id/documents/:docId', tag, summary: 'One document: status, chunks, error', permission: 'knowledge:read',
    params: docParams, responses: { 200: { description: 'The document' } },
    handler: async ({ params, auth }) => ({ status: 200, body: docView(await loadDoc(auth.projectId, params.id, params.docId)) }),
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents/:docId/retry', tag, summary: 'Ingest a failed document again', permission: 'knowledge:write',
    params: docParams, responses: { 202: { description: 'Restarted' }, 409: { description: 'Not failed' } },
    handler: async ({ params, auth }) => {
      const doc = await loadDoc(auth.projectId, params.id, params.docId);
      if (doc.processingStatus !== 'failed') throw new ConflictError('document_not_failed', `the document is ${doc.processingStatus}`);
      await startIngestion(deps, doc);
      return { status: 202, body: docView({ ...doc, processingStatus: 'pending' }) };
    },
  });
  defineRoute(router, registry, {
    method: 'delete', path: '/v1/knowledge-bases/:id/documents/:docId', tag, summary: 'Remove a document and its chunks', permission: 'knowledge:write',
    params: docParams, responses: { 204: { description: 'Removed' } },
    handler: async ({ params, auth }) => {
      await loadDoc(auth.projectId, params.id, params.docId);
      await db.delete(knowledgeDocument).where(eq(knowledgeDocument.id, params.docId));
      return { status: 204 };
    },
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/search', tag,
    summary: 'Search one base: full-text (all words must match), fused with vector similarity when embeddings are configured; `matchedBy` says which found each chunk',
    permission: 'knowledge:read', params: idParams, body: searchBody, responses: { 200: { description: 'Ranked chunks' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      const semantic = deps.embeddings && querySemantics(deps.embeddings, {
        timeoutMs: QUERY_EMBED_TIMEOUT_MS,
        onError: (err) => deps.logger.warn({ err, knowledgeBaseId: params.id }, 'query embedding failed; searching by full text only'),
      });
      return { status: 200, body: { items: await searchChunks(db, [params.id], body.query, { limit: body.limit, semantic }) } };
    },
  });
}
