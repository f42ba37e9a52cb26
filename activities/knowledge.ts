import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import { appendWorkflowTurnEvents } from '../src/conversations/turn-events.js';
import type { Db } from '../src/db/client.js';
import { EMBEDDINGS_BATCH, querySemantics, toEmbeddingsFailure, type EmbeddingsClient } from '../src/knowledge/embeddings.js';
import { ExtractionError } from '../src/knowledge/extract.js';
import { ingestDocument, markDocumentFailed, noteEmbeddingsOutcome, type FetchDocument, type IngestOptions } from '../src/knowledge/ingest.js';
import { searchChunks, type ChunkHit } from '../src/knowledge/search.js';
import { chunksToEmbed, ensureVectorStore, saveEmbeddings } from '../src/knowledge/vector-store.js';
import { retryableKinds, ToolError } from '../src/tools/types.js';
import { loadAgentKnowledgeBases } from '../src/knowledge/store.js';
import { failureTypes } from '../workflows/contracts/index.js';

export interface KnowledgeActivityDeps {
  db: Db;
  fetchDocument?: FetchDocument;
  /** Set when EMBEDDINGS_MODEL is configured: ingestion embeds chunks and retrieval ranks with vectors too. */
  embeddings?: EmbeddingsClient;
  /** Extraction limits other than the defaults (tests). */
  extractionLimits?: IngestOptions['extractionLimits'];
}

/** A turn waits on retrieval: past this the query is answered by full-text search alone. */
const QUERY_EMBED_TIMEOUT_MS = 5_000;
const HEARTBEAT_MS = 5_000;

export function createKnowledgeActivities(deps: KnowledgeActivityDeps) {
  // Once the store exists it stays; a `false` (no extension yet) is asked again next time.
  let storeReady: Promise<boolean> | undefined;
  const vectorStore = () =>
    (storeReady ??= ensureVectorStore(deps.db).then(
      (ok) => {
        if (!ok) storeReady = undefined;
        return ok;
      },
      (err: unknown) => {
        storeReady = undefined;
        throw err;
      },
    ));

  return {
    /**
     * Extract → chunk → index one document; a document that cannot be read fails without retry. `embed` tells
     * the workflow to run the embeddings step (absent in results recorded before it existed: no step on replay).
     */
    async ingestKnowledgeDocument(documentId: string): Promise<{ chunks: number; embed?: boolean }> {
      const ctx = Context.current();
      // Extraction runs in a child process for up to its time limit: keep telling Temporal this attempt is alive.
      const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
      try {
        const opts = { signal: ctx.cancellationSignal, extractionLimits: deps.extractionLimits };
        const { chunks } = await ingestDocument(deps.db, documentId, (step) => ctx.heartbeat(step), deps.fetchDocument, opts);
        return { chunks, embed: deps.embeddings !== undefined && chunks > 0 };
      } catch (err) {
        // Unreadable content, a document over a size, CPU or memory limit, or an address the guard refuses or
        // a 4xx page: retrying cannot help.
        if (err instanceof ExtractionError || (err instanceof ToolError && !retryableKinds.has(err.kind))) {
          throw ApplicationFailure.create({ type: failureTypes.documentUnreadable, message: err.message, nonRetryable: true });
        }
        throw err;
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * Embeds the document's chunks that have no embedding from the configured model, one batch at a time, each
     * saved before the next: a retry resumes where the last attempt stopped and rewrites nothing twice.
     */
    async embedKnowledgeDocument(documentId: string): Promise<{ embedded: number; skipped?: string }> {
      const client = deps.embeddings;
      if (!client) return { embedded: 0, skipped: 'EMBEDDINGS_MODEL is not configured on this worker' };
      if (!(await vectorStore())) {
        const skipped = 'the vector extension (pgvector) is not installed, so this document is searchable by full text only';
        await noteEmbeddingsOutcome(deps.db, documentId, skipped);
        return { embedded: 0, skipped };
      }
      const ctx = Context.current();
      const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
      try {
        const chunks = await chunksToEmbed(deps.db, documentId, client.model, client.dimensions);
        let embedded = 0;
        for (let start = 0; start < chunks.length; start += EMBEDDINGS_BATCH) {
          const batch = chunks.slice(start, start + EMBEDDINGS_BATCH);
          const vectors = await client.embed(batch.map((c) => c.text), ctx.cancellationSignal);
          embedded += await saveEmbeddings(deps.db, client.model, batch.map((c, i) => ({ chunkId: c.id, embedding: vectors[i]! })));
        }
        await noteEmbeddingsOutcome(deps.db, documentId, null);
        return { embedded };
      } catch (err) {
        throw toEmbeddingsFailure(err);
      } finally {
        clearInterval(beat);
      }
    },

    async markKnowledgeDocumentFailed(p: { documentId: string; reason: string }): Promise<void> {
      await markDocumentFailed(deps.db, p.documentId, p.reason);
    },

    /** The embeddings step gave up: the document stays completed (full-text search works) and says why. */
    async noteKnowledgeEmbeddingsFailed(p: { documentId: string; reason: string }): Promise<void> {
      await noteEmbeddingsOutcome(deps.db, p.documentId, `failed: ${p.reason}`);
    },

    /**
     * The best chunks of the agent's knowledge bases for the user's message, bases in priority order; hybrid
     * (full-text + vectors) when embeddings are configured, full-text alone when the query cannot be embedded.
     * A turn's retrieval is told in its event log (`knowledge.retrieved`: the bases searched and the hit count).
     */
    async retrieveKnowledge(p: {
      agentId: string;
      query: string;
      limit?: number;
      /** The agent's bases in priority order, when the caller has just read them (a turn's first step). */
      bases?: string[];
    }): Promise<{ bases: string[]; hits: ChunkHit[] }> {
      const ctx = Context.current();
      const bases = p.bases ?? (await loadAgentKnowledgeBases(deps.db, p.agentId));
      const semantic = deps.embeddings
        ? querySemantics(deps.embeddings, {
          timeoutMs: QUERY_EMBED_TIMEOUT_MS,
          signal: ctx.cancellationSignal,
          onError: (err) => ctx.log.warn('query embedding failed; retrieving by full text only', { error: String(err) }),
        })
        : undefined;
      const hits = await searchChunks(deps.db, bases, p.query, { limit: p.limit ?? 5, match: 'any', semantic });
      // In a turn, clients learn what was searched and how much was found; never the documents' text.
      await appendWorkflowTurnEvents(deps.db, { workflowId: activityInfo().workflowExecution?.workflowId }, [
        { key: 'knowledge:retrieved', type: 'knowledge.retrieved', data: { bases, hits: hits.length } },
      ]);
      return { bases, hits };
    },
  };
}
