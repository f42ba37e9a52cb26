import { and, eq, like } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { knowledgeChunk, knowledgeDocument } from '../db/schema/index.js';
import type { SandboxLimits } from '../sandbox/child-process.js';
import { extractDocumentIsolated } from './extract-isolated.js';

/** Fetches a document added by URL (text-based formats); supplied by the worker with the SSRF guard. */
export type FetchDocument = (url: string, signal: AbortSignal) => Promise<{ contentType: string; text: string }>;

/** How one ingestion runs: cancelled with the activity; limits other than `EXTRACTION_LIMITS` for tests. */
export interface IngestOptions {
  signal?: AbortSignal;
  extractionLimits?: SandboxLimits;
}

/**
 * Extracts, chunks and indexes one document; extraction and chunking run in a child process with CPU, memory
 * and size limits (`extract-isolated.ts`), so a hostile document cannot stall this process. Replacing the document's chunks happens in one transaction,
 * so a retry (or re-ingesting the same content) leaves exactly one set of chunks, never two.
 */
export async function ingestDocument(
  db: Db,
  documentId: string,
  onStep: (step: string) => void = () => {},
  fetchDocument?: FetchDocument,
  opts: IngestOptions = {},
) {
  const [doc] = await db.select().from(knowledgeDocument).where(eq(knowledgeDocument.id, documentId));
  if (!doc) return { chunks: 0 };
  await db.update(knowledgeDocument).set({ processingStatus: 'processing', processingError: null }).where(eq(knowledgeDocument.id, documentId));
  let contentType = doc.contentType ?? 'text/plain';
  let data = doc.rawContent ?? Buffer.from(doc.rawText ?? '', 'utf8');
  if (!doc.rawContent && doc.rawText === null && doc.source && /^https?:/.test(doc.source)) {
    if (!fetchDocument) throw new Error('this worker cannot fetch documents by URL');
    onStep('fetch');
    const fetched = await fetchDocument(doc.source, AbortSignal.timeout(30_000));
    contentType = fetched.contentType;
    data = Buffer.from(fetched.text, 'utf8');
    await db.update(knowledgeDocument).set({ contentType }).where(eq(knowledgeDocument.id, documentId));
  }
  onStep('extract');
  const { text, chunks } = await extractDocumentIsolated({ contentType, data }, { signal: opts.signal, limits: opts.extractionLimits });
  onStep('index');
  await db.transaction(async (tx) => {
    await tx.delete(knowledgeChunk).where(eq(knowledgeChunk.documentId, documentId));
    if (chunks.length > 0) {
      await tx.insert(knowledgeChunk).values(
        chunks.map((c) => ({
          documentId, knowledgeBaseId: doc.knowledgeBaseId, chunkIndex: c.index, content: c.content, heading: c.heading, tokenCount: c.tokenCount,
        })),
      );
    }
    await tx
      .update(knowledgeDocument)
      .set({ processingStatus: 'completed', totalChunks: chunks.length, rawText: text, rawContent: null, processingError: null })
      .where(eq(knowledgeDocument.id, documentId));
  });
  return { chunks: chunks.length };
}

export async function markDocumentFailed(db: Db, documentId: string, reason: string): Promise<void> {
  await db
    .update(knowledgeDocument)
    .set({ processingStatus: 'failed', processingError: reason.slice(0, 2000) })
    .where(eq(knowledgeDocument.id, documentId));
}

/**
 * The prefix of `processing_error` on a `completed` document whose chunks have no embeddings: the document
 * is searchable by full text, and the note says why vector search misses it.
 */
export const EMBEDDINGS_NOTE = 'embeddings: ';

/**
 * Records why embedding a document failed (`problem`), or clears an earlier such note once it succeeded.
 * Touches only a completed document: a re-ingest running meanwhile owns its status and error.
 */
export async function noteEmbeddingsOutcome(db: Db, documentId: string, problem: string | null): Promise<void> {
  const completed = and(eq(knowledgeDocument.id, documentId), eq(knowledgeDocument.processingStatus, 'completed'));
  if (problem === null) {
    await db.update(knowledgeDocument).set({ processingError: null })
      .where(and(completed, like(knowledgeDocument.processingError, `${EMBEDDINGS_NOTE}%`)));
    return;
  }
  await db.update(knowledgeDocument).set({ processingError: `${EMBEDDINGS_NOTE}${problem}`.slice(0, 2000) }).where(completed);
}
