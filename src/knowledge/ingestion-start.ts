import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { ingestionWorkflowId, type Workflows } from '../../workflows/contracts/index.js';
import type { DbOrTx } from '../db/client.js';
import { ConflictError } from '../errors.js';
import { markIngestionStarted, type DocumentRow } from './document-store.js';

/**
 * Starts (or restarts, for a failed document) the ingestion workflow of one document and marks it pending.
 * @throws ConflictError `ingestion_running` while an ingestion of the document still runs.
 */
export async function startIngestion(deps: { db: DbOrTx; temporal: Client; taskQueue: string }, doc: DocumentRow): Promise<void> {
  const workflowId = ingestionWorkflowId(doc.id);
  try {
    await deps.temporal.workflow.start<Workflows['ingestKnowledgeDocumentWorkflow']>('ingestKnowledgeDocumentWorkflow', {
      taskQueue: deps.taskQueue, workflowId, args: [{ documentId: doc.id }],
      // A failed document is ingested again under the same id once its last run has closed.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE, staticSummary: `Ingest "${doc.title}"`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError('ingestion_running', 'this document is being ingested');
    throw err;
  }
  await markIngestionStarted(deps.db, doc.knowledgeBaseId, doc.id, workflowId);
}
