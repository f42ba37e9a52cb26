import { describe, expect, it } from 'vitest';
import { fuseRankings, RRF_K, type Candidate } from '../../src/knowledge/search';

const chunk = (chunkId: string, pos: number, knowledgeBaseId = 'kb-a'): Candidate => ({
  chunkId, knowledgeBaseId, documentId: 'doc', documentTitle: 'Doc', heading: null, content: chunkId, pos,
});

describe('fuseRankings (reciprocal rank fusion)', () => {
  it('scores Σ 1/(k + position) and lifts a chunk both rankers found above one ranker\'s first place', () => {
    const hits = fuseRankings(['kb-a'], {
      fts: [chunk('lexical-top', 1), chunk('both', 2)],
      vector: [chunk('semantic-top', 1), chunk('both', 3)],
    }, 10);
    expect(hits.map((h) => h.chunkId)).toEqual(['both', 'lexical-top', 'semantic-top']);
    expect(hits[0]).toMatchObject({ matchedBy: ['fts', 'vector'], content: 'both' });
    expect(hits[0]!.rank).toBeCloseTo(1 / (RRF_K + 2) + 1 / (RRF_K + 3), 12);
    expect(hits[1]).toMatchObject({ matchedBy: ['fts'], rank: 1 / (RRF_K + 1) });
    expect(hits[2]).toMatchObject({ matchedBy: ['vector'] });
    expect(hits[0]).not.toHaveProperty('pos');
  });

  it('keeps bases in priority order: an earlier base first, even when a later base scores better', () => {
    const hits = fuseRankings(['kb-first', 'kb-second'], {
      fts: [chunk('second-best', 1, 'kb-second'), chunk('first-weak', 7, 'kb-first')],
      vector: [chunk('second-best', 1, 'kb-second')],
    }, 10);
    expect(hits.map((h) => h.chunkId)).toEqual(['first-weak', 'second-best']);
  });

  it('applies the limit after fusing, and ranks a one-ranker list in that ranker\'s order', () => {
    const fts = [chunk('c', 3), chunk('a', 1), chunk('b', 2)];
    expect(fuseRankings(['kb-a'], { fts }, 2).map((h) => h.chunkId)).toEqual(['a', 'b']);
    expect(fuseRankings(['kb-a'], { fts, vector: [] }, 5).map((h) => h.chunkId)).toEqual(['a', 'b', 'c']);
    expect(fuseRankings(['kb-a'], {}, 5)).toEqual([]);
  });

  it('a smaller k gives first places more weight', () => {
    const rankings = { fts: [chunk('x', 1), chunk('y', 4)], vector: [chunk('y', 4)] };
    // k = 60: y scores 2/64 > x's 1/61; k = 1: x scores 1/2 > y's 2/5.
    expect(fuseRankings(['kb-a'], rankings, 2).map((h) => h.chunkId)).toEqual(['y', 'x']);
    expect(fuseRankings(['kb-a'], rankings, 2, 1).map((h) => h.chunkId)).toEqual(['x', 'y']);
  });
});
