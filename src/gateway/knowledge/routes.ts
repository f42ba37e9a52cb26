import { createHash } from 'node:crypto';
import * as c from '../../knowledge/contracts.js';
import { addDocument, deleteDocument, findDocument, listDocuments, type DocumentInsert, type DocumentRow } from '../../knowledge/document-store.js';
import { querySemantics } from '../../knowledge/embeddings.js';
import { ExtractionError, sniffContentType } from '../../knowledge/extract.js';
import { startIngestion } from '../../knowledge/ingestion-start.js';
import { searchChunks } from '../../knowledge/search.js';
import * as store from '../../knowledge/store.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';
import { readUpload } from './upload.js';

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** An operator's search waits this long for the query embedding, then answers from full-text search alone. */
const QUERY_EMBED_TIMEOUT_MS = 10_000;

const docView = ({ rawContent: _c, rawText: _t, ...doc }: DocumentRow) => toIso(doc);

export function registerKnowledgeRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Knowledge';
  const ingestion = { db, temporal: deps.temporal, taskQueue: deps.settings.taskQueue };
  const loadKb = async (projectId: string, id: string) => {
    const kb = await store.findKnowledgeBase(db, projectId, id);
    if (!kb) throw new NotFoundError('knowledge base');
    return kb;
  };
  const loadDoc = async (projectId: string, kbId: string, docId: string) => {
    await loadKb(projectId, kbId);
    const doc = await findDocument(db, kbId, docId);
    if (!doc) throw new NotFoundError('document');
    return doc;
  };
  /** Same bytes in the same base: the existing document answers (200), no second set of chunks. */
  const add = async (kbId: string, values: Omit<DocumentInsert, 'contentHash'>, bytes: Buffer) => {
    const contentHash = createHash('sha256').update(bytes).digest('hex');
    const { created, doc } = await addDocument(db, kbId, { ...values, contentHash });
    if (!created) return { status: 200, body: docView(doc) };
    await startIngestion(ingestion, doc);
    return { status: 202, body: docView({ ...doc, processingStatus: 'pending' }) };
  };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases', tag, summary: 'Create a knowledge base', permission: 'knowledge:write', body: c.knowledgeBaseBody,
    responses: { 201: { description: 'Created' } },
    handler: async ({ body, auth }) => {
      return { status: 201, body: toIso(await store.createKnowledgeBase(db, auth.projectId, body)) };
    },
  });
  defineListRoute(router, registry, {
    path: '/v1/knowledge-bases', tag, summary: 'List knowledge bases', permission: 'knowledge:read', query: pageQuery,
    description: 'A page', view: toIso,
    rows: ({ query, auth }) => store.listKnowledgeBases(db, auth.projectId, query),
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases/:id', tag, summary: 'Get a knowledge base', permission: 'knowledge:read', params: idParams,
    responses: { 200: { description: 'The base' } },
    handler: async ({ params, auth }) => ({ status: 200, body: toIso(await loadKb(auth.projectId, params.id)) }),
  });
  defineRoute(router, registry, {
    method: 'patch', path: '/v1/knowledge-bases/:id', tag, summary: 'Rename or describe a knowledge base', permission: 'knowledge:write',
    params: idParams, body: c.knowledgeBaseUpdateBody,
    responses: { 200: { description: 'The base' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      return { status: 200, body: toIso(await store.updateKnowledgeBase(db, auth.projectId, params.id, body)) };
    },
  });
  defineRoute(router, registry, {
    method: 'delete', path: '/v1/knowledge-bases/:id', tag, summary: 'Delete a knowledge base with its documents', permission: 'knowledge:write',
    params: idParams, responses: { 204: { description: 'Deleted' } },
    handler: async ({ params, auth }) => {
      await loadKb(auth.projectId, params.id);
      await store.deleteKnowledgeBase(db, auth.projectId, params.id);
      return { status: 204 };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents', tag, summary: 'Add a text, Markdown or HTML document (ingested by a workflow)',
    permission: 'knowledge:write', params: idParams, body: c.textDocumentBody,
    responses: { 202: { description: 'Accepted; ingestion runs' }, 200: { description: 'Same content already in this base' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      const { content, ...rest } = body;
      return add(params.id, { ...rest, rawText: content, fileSize: Buffer.byteLength(content) }, Buffer.from(content, 'utf8'));
    },
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents/upload', tag,
    summary: `Upload a file (multipart/form-data: part "file", PDF, Markdown, HTML or text, at most ${MAX_UPLOAD_BYTES} bytes; optional field "title", as in a text document)`,
    permission: 'knowledge:write', params: idParams,
    responses: { 202: { description: 'Accepted; ingestion runs' }, 413: { description: 'Too large' } },
    handler: async ({ params, auth, req }) => {
      await loadKb(auth.projectId, params.id);
      const upload = await readUpload(req, { maxBytes: MAX_UPLOAD_BYTES, fields: c.uploadFields });
      let contentType: string;
      try {
        contentType = sniffContentType(upload.data, upload.mimeType, upload.fileName);
      } catch (err) {
        if (err instanceof ExtractionError) throw new ValidationError(`invalid request: body.file: ${err.message}`, [{ field: 'body.file', message: err.message }]);
        throw err;
      }
      const title = upload.fields.title ?? (upload.fileName || 'upload');
      return add(params.id, { title, contentType, fileName: upload.fileName, fileSize: upload.data.length, rawContent: upload.data }, upload.data);
    },
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents/url', tag, operationId: 'createKnowledgeBaseDocumentFromUrl',
    summary: 'Add a web page (HTML, Markdown or text) by URL; the worker fetches it through the outbound-address guard',
    permission: 'knowledge:write', params: idParams, body: c.urlDocumentBody,
    responses: { 202: { description: 'Accepted; ingestion runs' }, 200: { description: 'This URL is already in this base' } },
    handler: async ({ params, body, auth }) => {
      await loadKb(auth.projectId, params.id);
      return add(params.id, { title: body.title ?? body.url, source: body.url }, Buffer.from(`url:${body.url}`, 'utf8'));
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases/:id/documents', tag, summary: 'Documents with their processing status', permission: 'knowledge:read',
    params: idParams, responses: { 200: { description: 'Documents' } },
    handler: async ({ params, auth }) => {
      await loadKb(auth.projectId, params.id);
      const rows = await listDocuments(db, params.id);
      return { status: 200, body: { items: rows.map(docView), nextCursor: null } };
    },
  });
  defineRoute(router, registry, {
    method: 'get', path: '/v1/knowledge-bases/:id/documents/:docId', tag, summary: 'One document: status, chunks, error', permission: 'knowledge:read',
    params: c.documentParams, responses: { 200: { description: 'The document' } },
    handler: async ({ params, auth }) => ({ status: 200, body: docView(await loadDoc(auth.projectId, params.id, params.docId)) }),
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/documents/:docId/retry', tag, summary: 'Ingest a failed document again', permission: 'knowledge:write',
    params: c.documentParams, responses: { 202: { description: 'Restarted' }, 409: { description: 'Not failed' } },
    handler: async ({ params, auth }) => {
      const doc = await loadDoc(auth.projectId, params.id, params.docId);
      if (doc.processingStatus !== 'failed') throw new ConflictError('document_not_failed', `the document is ${doc.processingStatus}`);
      await startIngestion(ingestion, doc);
      return { status: 202, body: docView({ ...doc, processingStatus: 'pending' }) };
    },
  });
  defineRoute(router, registry, {
    method: 'delete', path: '/v1/knowledge-bases/:id/documents/:docId', tag, summary: 'Remove a document and its chunks', permission: 'knowledge:write',
    params: c.documentParams, responses: { 204: { description: 'Removed' } },
    handler: async ({ params, auth }) => {
      await loadDoc(auth.projectId, params.id, params.docId);
      await deleteDocument(db, params.id, params.docId);
      return { status: 204 };
    },
  });
  defineRoute(router, registry, {
    method: 'post', path: '/v1/knowledge-bases/:id/search', tag,
    summary: 'Search one base: full-text (all words must match), fused with vector similarity when embeddings are configured; `matchedBy` says which found each chunk',
    permission: 'knowledge:read', params: idParams, body: c.searchBody, responses: { 200: { description: 'Ranked chunks' } },
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
