import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { ingestKnowledgeDocument } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '2 seconds', nonRetryableErrorTypes: ['DocumentUnreadable'] },
});
const { markKnowledgeDocumentFailed } = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { maximumAttempts: 10 },
});

/** One document: extract, chunk, index. When it cannot finish, the document says why and can be retried. */
export async function ingestKnowledgeDocumentWorkflow(input: { documentId: string }): Promise<{ chunks: number }> {
  try {
    return await ingestKnowledgeDocument(input.documentId);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await markKnowledgeDocumentFailed({ documentId: input.documentId, reason: err.cause?.message ?? err.message });
    return { chunks: 0 };
  }
}
