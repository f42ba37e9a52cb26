import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { failureMessage, failureTypes, type IngestionInput, type IngestionResult } from './contracts/index.js';

const { ingestKnowledgeDocument } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: [failureTypes.documentUnreadable] },
});
/** Calls the embeddings endpoint in batches, heartbeating; a short outage is retried, a long one gives up. */
const { embedKnowledgeDocument } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const { markKnowledgeDocumentFailed, noteKnowledgeEmbeddingsFailed } = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { maximumAttempts: 10 },
});

/**
 * One document: extract, chunk, index, then (when the worker has an embeddings model) embed. Embedding is its
 * own step so an embeddings outage cannot cost the full-text index: the document stays completed and its
 * `processingError` says the embeddings failed. When indexing cannot finish, the document is failed and can
 * be retried.
 */
export async function ingestKnowledgeDocumentWorkflow(input: IngestionInput): Promise<IngestionResult> {
  let indexed: Awaited<ReturnType<typeof ingestKnowledgeDocument>>;
  try {
    indexed = await ingestKnowledgeDocument(input.documentId);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await markKnowledgeDocumentFailed({ documentId: input.documentId, reason: failureMessage(err) });
    return { chunks: 0 };
  }
  // Histories recorded before the embeddings step have no `embed` field and replay without it.
  if (!indexed.embed) return { chunks: indexed.chunks };
  try {
    const { embedded } = await embedKnowledgeDocument(input.documentId);
    return { chunks: indexed.chunks, embedded };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await noteKnowledgeEmbeddingsFailed({ documentId: input.documentId, reason: failureMessage(err) });
    return { chunks: indexed.chunks, embedded: 0 };
  }
}
