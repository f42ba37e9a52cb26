import { describe, expect, it } from 'vitest';
import { indexKindFor, vectorCapabilities, vectorIndexName } from '../../src/knowledge/vector-index';

describe('what the installed pgvector can index', () => {
  it('reads HNSW (0.5), halfvec (0.7) and iterative scans (0.8) from the extension version', () => {
    expect(vectorCapabilities('0.4.4')).toMatchObject({ hnsw: false, halfvec: false, iterativeScan: false });
    expect(vectorCapabilities('0.5.1')).toMatchObject({ hnsw: true, halfvec: false, iterativeScan: false });
    expect(vectorCapabilities('0.7.4')).toMatchObject({ hnsw: true, halfvec: true, iterativeScan: false });
    expect(vectorCapabilities('0.8.0')).toMatchObject({ hnsw: true, halfvec: true, iterativeScan: true });
    expect(vectorCapabilities('1.0.0')).toMatchObject({ hnsw: true, halfvec: true, iterativeScan: true });
    expect(vectorCapabilities(null)).toBeUndefined();
  });

  it('indexes up to 2000 dimensions at full precision, up to 4000 at half, and no further', () => {
    const v08 = vectorCapabilities('0.8.0');
    expect(indexKindFor(384, v08)).toBe('vector');
    expect(indexKindFor(2000, v08)).toBe('vector');
    expect(indexKindFor(3072, v08)).toBe('halfvec');
    expect(indexKindFor(3072, vectorCapabilities('0.6.2'))).toBeUndefined();
    expect(indexKindFor(4001, v08)).toBeUndefined();
    expect(indexKindFor(384, vectorCapabilities('0.4.4'))).toBeUndefined();
    expect(indexKindFor(384, undefined)).toBeUndefined();
  });

  it('accepts only whole sizes in index names (they are written into DDL)', () => {
    expect(vectorIndexName(1536)).toBe('knowledge_chunk_embedding_hnsw_1536');
    expect(() => vectorIndexName(1.5)).toThrow(RangeError);
    expect(() => vectorIndexName(0)).toThrow(RangeError);
  });
});
