// Queries on knowledge documents. Documents are reached through their base, which the caller has loaded
// from the project (`findKnowledgeBase`); every query here is scoped to that base.
import { and, desc, eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { knowledgeDocument } from '../db/schema/index.js';

export type DocumentRow = typeof knowledgeDocument.$inferSelect;
/** A new document's columns; the store adds its base. */
export type DocumentInsert = Omit<typeof knowledgeDocument.$inferInsert, 'knowledgeBaseId'>;

export async function findDocument(db: DbOrTx, knowledgeBaseId: string, id: string): Promise<DocumentRow | undefined> {
  const [row] = await db.select().from(knowledgeDocument).where(and(eq(knowledgeDocument.id, id), eq(knowledgeDocument.knowledgeBaseId, knowledgeBaseId)));
  return row;
}

/** The base's documents, newest first. */
export function listDocuments(db: DbOrTx, knowledgeBaseId: string): Promise<DocumentRow[]> {
  return db.select().from(knowledgeDocument).where(eq(knowledgeDocument.knowledgeBaseId, knowledgeBaseId)).orderBy(desc(knowledgeDocument.createdAt));
}

/**
 * Adds a document unless the base already holds one with the same content hash. Returns the new row, or the
 * existing one with `created: false`.
 */
export async function addDocument(
  db: DbOrTx,
  knowledgeBaseId: string,
  values: DocumentInsert & { contentHash: string },
): Promise<{ created: boolean; doc: DocumentRow }> {
  const [doc] = await db.insert(knowledgeDocument).values({ ...values, knowledgeBaseId }).onConflictDoNothing().returning();
  if (doc) return { created: true, doc };
  const [existing] = await db
    .select()
    .from(knowledgeDocument)
    .where(and(eq(knowledgeDocument.knowledgeBaseId, knowledgeBaseId), eq(knowledgeDocument.contentHash, values.contentHash)));
  return { created: false, doc: existing! };
}

/** Records the ingestion workflow of a document whose ingestion just started. */
export async function markIngestionStarted(db: DbOrTx, knowledgeBaseId: string, id: string, workflowId: string): Promise<void> {
  await db
    .update(knowledgeDocument)
    .set({ workflowId, processingStatus: 'pending' })
    .where(and(eq(knowledgeDocument.id, id), eq(knowledgeDocument.knowledgeBaseId, knowledgeBaseId)));
}

/** Removes a document; its chunks go with it (foreign keys cascade). */
export async function deleteDocument(db: DbOrTx, knowledgeBaseId: string, id: string): Promise<void> {
  await db.delete(knowledgeDocument).where(and(eq(knowledgeDocument.id, id), eq(knowledgeDocument.knowledgeBaseId, knowledgeBaseId)));
}
