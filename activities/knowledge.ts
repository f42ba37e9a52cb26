import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../src/db/client.js';
import { ExtractionError } from '../src/knowledge/extract.js';
import { ingestDocument, markDocumentFailed } from '../src/knowledge/ingest.js';
import { searchChunks, type ChunkHit } from '../src/knowledge/search.js';
import { loadAgentKnowledgeBases } from '../src/services/knowledge.js';

export interface KnowledgeActivityDeps {
  db: Db;
}

export function createKnowledgeActivities(deps: KnowledgeActivityDeps) {
  return {
    /** Extract → chunk → index one document; a document that cannot be read fails without retry. */
    async ingestKnowledgeDocument(documentId: string): Promise<{ chunks: number }> {
      const ctx = Context.current();
      try {
        return await ingestDocument(deps.db, documentId, (step) => ctx.heartbeat(step));
      } catch (err) {
        if (err instanceof ExtractionError) {
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
