import { sql } from 'drizzle-orm';
import { customType, index, integer, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
import { createdAt, id, updatedAt } from './columns.js';
import { smartAgent } from './agents.js';
import { project } from './tenancy.js';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/** A knowledge base (seeds 000, 002 KnowledgeBase, 003 agent_knowledge_base). */
export const knowledgeBase = pgTable(
  'knowledge_base',
  {
    id: id(),
    projectId: uuid('project_id')
      .notNull()
      .references(() => project.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    language: text('language').notNull().default('english'),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('knowledge_base_project_idx').on(t.projectId)],
);

/**
 * A document of a knowledge base. processing_status: pending | processing | completed | failed.
 * `content_hash` makes re-uploading the same content a no-op within one base.
 */
export const knowledgeDocument = pgTable(
  'knowledge_document',
  {
    id: id(),
    knowledgeBaseId: uuid('knowledge_base_id')
      .notNull()
      .references(() => knowledgeBase.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    source: text('source'),
    contentType: text('content_type'),
    fileName: text('file_name'),
    fileSize: integer('file_size'),
    contentHash: text('content_hash').notNull(),
    rawText: text('raw_text'),
    /** The uploaded bytes (PDF, HTML…) kept until ingestion succeeds, so a failed document can be retried. */
    rawContent: bytea('raw_content'),
    workflowId: text('workflow_id'),
    tags: text('tags').array().notNull().default(sql`ARRAY[]::text[]`),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    processingStatus: text('processing_status').notNull().default('pending'),
    processingError: text('processing_error'),
    totalChunks: integer('total_chunks').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('knowledge_document_kb_idx').on(t.knowledgeBaseId),
    index('knowledge_document_status_idx').on(t.processingStatus),
    uniqueIndex('knowledge_document_kb_hash_uq').on(t.knowledgeBaseId, t.contentHash),
  ],
);

/** A chunk of a document, indexed for full-text search by a generated tsvector and a GIN index. */
export const knowledgeChunk = pgTable(
  'knowledge_chunk',
  {
    id: id(),
    documentId: uuid('document_id')
      .notNull()
      .references(() => knowledgeDocument.id, { onDelete: 'cascade' }),
    knowledgeBaseId: uuid('knowledge_base_id')
      .notNull()
      .references(() => knowledgeBase.id, { onDelete: 'cascade' }),
    chunkIndex: integer('chunk_index').notNull(),
    content: text('content').notNull(),
    heading: text('heading'),
    tokenCount: integer('token_count').notNull().default(0),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    searchVector: tsvector('search_vector').generatedAlwaysAs(
      sql`to_tsvector('english', coalesce(heading, '') || ' ' || content)`,
    ),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('knowledge_chunk_document_index_uq').on(t.documentId, t.chunkIndex),
    index('knowledge_chunk_kb_idx').on(t.knowledgeBaseId),
    index('knowledge_chunk_search_idx').using('gin', t.searchVector),
  ],
);

/** Which knowledge bases an agent searches, and in what order (lower priority number first). */
export const agentKnowledgeAssignment = pgTable(
  'agent_knowledge_assignment',
  {
    id: id(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => smartAgent.id, { onDelete: 'cascade' }),
    knowledgeBaseId: uuid('knowledge_base_id')
      .notNull()
      .references(() => knowledgeBase.id, { onDelete: 'cascade' }),
    accessLevel: text('access_level').notNull().default('search'), // read | search | full
    priority: integer('priority').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('agent_knowledge_assignment_agent_id_idx').on(t.agentId),
    index('agent_knowledge_assignment_kb_id_idx').on(t.knowledgeBaseId),
    uniqueIndex('agent_knowledge_assignment_agent_kb_uq').on(t.agentId, t.knowledgeBaseId),
    index('agent_knowledge_assignment_priority_idx').on(t.priority),
  ],
);
