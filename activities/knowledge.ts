import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import { ExtractionError } from '../src/knowledge/extract.js';
import { ingestDocument, markDocumentFailed, type FetchDocument } from '../src/knowledge/ingest.js';
import { searchChunks, type ChunkHit } from '../src/knowledge/search.js';
import { retryableKinds, ToolError } from '../src/tools/types.js';
import { loadAgentKnowledgeBases } from '../src/services/knowledge.js';

export interface KnowledgeActivityDeps {
  db: Db;
  fetchDocument?: FetchDocument;
}

export function createKnowledgeActivities(deps: KnowledgeActivityDeps) {
  return {
    /** Extract → chunk → index one document; a document that cannot be read fails without retry. */
    async ingestKnowledgeDocument(documentId: string): Promise<{ chunks: number }> {
      const ctx = Context.current();
      try {
        return await ingestDocument(deps.db, documentId, (step) => ctx.heartbeat(step), deps.fetchDocument);
      } catch (err) {
        // Unreadable content, or an address the guard refuses or a 4xx page: retrying cannot help.
        if (err instanceof ExtractionError || (err instanceof ToolError && !retryableKinds.has(err.kind))) {
          throw ApplicationFailure.create({ type: 'DocumentUnreadable', message: err.message, nonRetryable: true });
        }
        throw err;
      }
    },

    async markKnowledgeDocumentFailed(p: { documentId: string; reason: string }): Promise<void> {
      await markDocumentFailed(deps.db, p.documentId, p.reason);
    },

    /** The best chunks of the agent's knowledge bases for the user's message, bases in priority order. */
    async retrieveKnowledge(p: { agentId: string; query: string; limit?: number }): Promise<{ bases: string[]; hits: ChunkHit[] }> {
      const bases = await loadAgentKnowledgeBases(deps.db, p.agentId);
      const hits = await searchChunks(deps.db, bases, p.query, { limit: p.limit ?? 5, match: 'any' });
      return { bases, hits };
    },
  };
}
