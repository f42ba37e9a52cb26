import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { knowledgeChunk, knowledgeDocument } from '../db/schema/index.js';
import { chunkText } from './chunk.js';
import { extractText } from './extract.js';

/**
 * Extracts, chunks and indexes one document. Replacing the document's chunks happens in one transaction,
 * so a retry (or re-ingesting the same content) leaves exactly one set of chunks, never two.
 */
export async function ingestDocument(db: Db, documentId: string, onStep: (step: string) => void = () => {}) {
  const [doc] = await db.select().from(knowledgeDocument).where(eq(knowledgeDocument.id, documentId));
  if (!doc) return { chunks: 0 };
  await db.update(knowledgeDocument).set({ processingStatus: 'processing', processingError: null }).where(eq(knowledgeDocument.id, documentId));
  onStep('extract');
  const data = doc.rawContent ?? Buffer.from(doc.rawText ?? '', 'utf8');
  const { text } = await extractText({ contentType: doc.contentType ?? 'text/plain', data });
  onStep('chunk');
  const chunks = chunkText(text);
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
