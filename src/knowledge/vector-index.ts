import { sql, type SQL } from 'drizzle-orm';
import type postgres from 'postgres';
import type { Db, DbOrTx } from '../db/client.js';

/**
 * HNSW indexes over `knowledge_chunk_embedding`. The column takes vectors of any size (each tenant picks its
 * embedding model) but an HNSW index needs one size, so each size in use gets its own partial expression index,
 * `((embedding::vector(N)) vector_cosine_ops) WHERE dims = N`, created the first time embeddings of that size are
 * saved (a handful of rows, so the build is instant) and kept up to date by Postgres on every insert after that.
 * Where an index is missing, invalid or unsupported, search ranks by exact distance as before; the result is the
 * same set up to the index's recall.
 */

export type VectorIndexKind = 'vector' | 'halfvec';

/** What the installed pgvector offers: HNSW came in 0.5, halfvec in 0.7, iterative index scans in 0.8. */
export interface VectorCapabilities {
  version: string;
  hnsw: boolean;
  halfvec: boolean;
  iterativeScan: boolean;
}

/**
 * Candidates the HNSW search keeps while walking the graph. 40 (pgvector's default) is below the 50 candidates
 * per base a hybrid search asks for. Recall@10 against exact search at 100,000 clustered 384-d vectors varies
 * from one index build to the next (graph levels are random): 0.935-0.98 at 100, 0.963-0.981 at 200, for ~1-5
 * ms more at p95 (`BENCH_CHUNKS=100000 npm run bench:knowledge`, which sweeps it: BENCH_EF_SEARCH).
 */
export const HNSW_EF_SEARCH = 200;
/** pgvector's HNSW limits per element type. Larger embeddings (beyond 4000) are searched exactly. */
const MAX_DIMS: Record<VectorIndexKind, number> = { vector: 2000, halfvec: 4000 };
/** Session advisory lock class (with the size as second key): one builder per size across all processes. */
const BUILD_LOCK_CLASS = 0x4b4e4f57;
/** How long a build waits on other sessions' locks and snapshots; past it the build fails and is retried later. */
const BUILD_LOCK_TIMEOUT = '60s';

export function vectorCapabilities(version: string | null | undefined): VectorCapabilities | undefined {
  const m = version ? /^(\d+)\.(\d+)/.exec(version) : null;
  if (!m) return undefined;
  const at = (major: number, minor: number) => Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
  return { version: version!, hnsw: at(0, 5), halfvec: at(0, 7), iterativeScan: at(0, 8) };
}

/** pgvector's own limit on a vector's size; the check also keeps sizes safe to write into DDL and casts. */
const isVectorSize = (dims: number) => Number.isInteger(dims) && dims >= 1 && dims <= 16_000;
function checkDims(dims: number): number {
  if (!isVectorSize(dims)) throw new RangeError(`not a vector size: ${dims}`);
  return dims;
}

/** The element type an index of this size is built on: full precision up to 2000, half precision up to 4000. */
export function indexKindFor(dims: number, caps: VectorCapabilities | undefined): VectorIndexKind | undefined {
  if (!caps?.hnsw) return undefined;
  if (checkDims(dims) <= MAX_DIMS.vector) return 'vector';
  return caps.halfvec && dims <= MAX_DIMS.halfvec ? 'halfvec' : undefined;
}

export const vectorIndexName = (dims: number) => `knowledge_chunk_embedding_hnsw_${checkDims(dims)}`;

/** The indexed expression over alias `e`: a search must order by exactly this for the planner to use the index. */
export const indexedEmbedding = (kind: VectorIndexKind, dims: number): SQL => sql.raw(`e.embedding::${kind}(${checkDims(dims)})`);
/** The type the query vector is cast to, matching {@link indexedEmbedding}. */
export const indexedType = (kind: VectorIndexKind, dims: number): SQL => sql.raw(`${kind}(${checkDims(dims)})`);

/** The installed pgvector's capabilities, and whether the index for `dims` exists and is valid (false: invalid). */
async function catalogState(db: DbOrTx, dims: number) {
  const [row] = await db.execute<{ version: string | null; valid: boolean | null }>(sql`
    select (select extversion from pg_extension where extname = 'vector') as version,
           (select i.indisvalid from pg_index i where i.indexrelid = to_regclass(${vectorIndexName(dims)})) as valid`);
  return { caps: vectorCapabilities(row?.version), valid: row?.valid ?? null };
}

/**
 * Inside the search's transaction: which index kind a nearest-neighbour query of this size can use (undefined:
 * none, search exactly), with the HNSW settings for this transaction only. Iterative scans (pgvector 0.8) keep
 * walking the graph while the base and model filters reject candidates, so a base that is a small part of the
 * index still gets its full candidate list; before 0.8 the scan stops after `efSearch` candidates.
 */
export async function prepareIndexedSearch(tx: DbOrTx, dims: number, efSearch = HNSW_EF_SEARCH): Promise<VectorIndexKind | undefined> {
  if (!isVectorSize(dims)) return undefined;
  const { caps, valid } = await catalogState(tx, dims);
  const kind = valid === true ? indexKindFor(dims, caps) : undefined;
  if (!kind) return undefined;
  const iterative = caps!.iterativeScan ? sql`, set_config('hnsw.iterative_scan', 'relaxed_order', true)` : sql``;
  // A custom plan every time: the driver prepares statements, and a generic plan would not know which base (small:
  // read exactly; large: walk the index) it is planned for.
  await tx.execute(sql`select set_config('hnsw.ef_search', ${String(Math.max(1, Math.trunc(efSearch)))}, true),
    set_config('plan_cache_mode', 'force_custom_plan', true)${iterative}`);
  return kind;
}

export type VectorIndexState =
  | { state: 'ready'; index: string }
  | { state: 'building elsewhere'; index: string }
  | { state: 'unsupported' | 'failed'; reason: string };

/**
 * Creates the HNSW index for embeddings of `dims` values if it is missing, with CREATE INDEX CONCURRENTLY so
 * writers are never blocked. Idempotent and safe to race: one session builds (an advisory lock per size), the
 * others answer 'building elsewhere' at once; a build that died half-way (an invalid index) is dropped and redone.
 * Never throws: without the index, search stays exact.
 */
export async function ensureVectorIndex(db: Db, dims: number): Promise<VectorIndexState> {
  try {
    const { caps, valid } = await catalogState(db, dims);
    const kind = indexKindFor(dims, caps);
    if (!kind) return { state: 'unsupported', reason: `pgvector ${caps?.version ?? '(absent)'} has no HNSW index for ${dims} dimensions` };
    const index = vectorIndexName(dims);
    if (valid === true) return { state: 'ready', index };
    // CONCURRENTLY cannot run in a transaction, and the advisory lock is the session's: one connection throughout.
    // drizzle() returns the pool it wraps as `$client` (createDb's db always has one); Db's type omits it.
    const conn = await (db as Db & { $client: postgres.Sql }).$client.reserve();
    try {
      const [lock] = await conn`select pg_try_advisory_lock(${BUILD_LOCK_CLASS}, ${dims}) as ok`;
      if (lock?.ok !== true) return { state: 'building elsewhere', index };
      try {
        const [now] = await conn`select (select indisvalid from pg_index where indexrelid = to_regclass(${index})) as valid`;
        if (now?.valid === true) return { state: 'ready', index };
        await conn.unsafe(`set lock_timeout = '${BUILD_LOCK_TIMEOUT}'`);
        if (now?.valid === false) await conn.unsafe(`drop index concurrently if exists ${index}`);
        await conn.unsafe(`create index concurrently if not exists ${index} on knowledge_chunk_embedding
          using hnsw ((embedding::${kind}(${dims})) ${kind}_cosine_ops) where dims = ${dims}`);
        return { state: 'ready', index };
      } finally {
        await conn.unsafe('reset lock_timeout').catch(() => {});
        await conn`select pg_advisory_unlock(${BUILD_LOCK_CLASS}, ${dims})`.catch(() => {});
      }
    } finally {
      conn.release();
    }
  } catch (err) {
    return { state: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
}

/** {@link ensureVectorIndex} for every size already stored: embeddings saved before these indexes existed. */
export async function ensureVectorIndexes(db: Db): Promise<VectorIndexState[]> {
  const sizes = await db.execute<{ dims: number }>(sql`select distinct dims from knowledge_chunk_embedding order by dims`);
  const states: VectorIndexState[] = [];
  for (const { dims } of sizes) states.push(await ensureVectorIndex(db, Number(dims)));
  return states;
}
