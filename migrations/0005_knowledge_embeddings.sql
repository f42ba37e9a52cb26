-- Chunk embeddings for hybrid search, created only where the `vector` extension (pgvector) can be installed:
-- without it this migration changes nothing and full-text search works as before. The table is not in the
-- Drizzle schema on purpose (drizzle-kit would then create it everywhere, extension or not); queries use raw SQL.
-- src/knowledge/vector-store.ts runs this same file again at run time, because the extension may be installed
-- after migrations ran: keep it one idempotent statement.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    RAISE NOTICE 'the vector extension is not available: knowledge_chunk_embedding not created (full-text search only)';
    RETURN;
  END IF;
  CREATE EXTENSION IF NOT EXISTS vector;
  -- One embedding per chunk and model; `dims` is kept because the column takes vectors of any size and
  -- cosine distance is only defined between vectors of one size (searches filter on model and dims).
  CREATE TABLE IF NOT EXISTS knowledge_chunk_embedding (
    chunk_id uuid PRIMARY KEY REFERENCES knowledge_chunk(id) ON DELETE CASCADE,
    knowledge_base_id uuid NOT NULL REFERENCES knowledge_base(id) ON DELETE CASCADE,
    model text NOT NULL,
    dims integer NOT NULL,
    embedding vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  -- Searches scan one base's embeddings of one model; an ANN index (HNSW) needs a fixed size, so none yet.
  CREATE INDEX IF NOT EXISTS knowledge_chunk_embedding_kb_model_idx ON knowledge_chunk_embedding (knowledge_base_id, model);
EXCEPTION
  -- A role that may not create extensions, or control files without the library: stay on full-text search.
  WHEN insufficient_privilege OR undefined_file THEN
    RAISE NOTICE 'vector store not created (%): full-text search only', SQLERRM;
END $$;
