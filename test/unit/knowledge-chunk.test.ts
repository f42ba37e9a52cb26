import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkText, countTokens, type Chunk } from '../../src/knowledge/chunk.js';

const handbook = readFileSync(join(__dirname, '../fixtures/knowledge/handbook.md'), 'utf8');

/** Deterministic prose: words and sentence lengths from a seeded LCG, so no passage repeats by accident. */
function prose(words: number, paragraphEvery = 60): string {
  const vocab = 'refund invoice customer the within days payment order support plan annual shipping card bank transfer account security warehouse parcel tracking number email password cancel early month price euro tax receipt claim'.split(' ');
  let seed = 42;
  const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(vocab[next() % vocab.length]!);
    if (next() % 9 === 0) out.push('.');
    if (i % paragraphEvery === paragraphEvery - 1) out.push('.\n\n');
  }
  const text = out.join(' ').replace(/ \./g, '.').replace(/\.+/g, '.').replace(/\n\n /g, '\n\n');
  // Capitalised, because sentence segmentation (rightly) does not break before a lower-case word.
  return `${text.replace(/(^|\. |\n\n)([a-z])/g, (_, before: string, c: string) => before + c.toUpperCase())}.`;
}

/** The longest text that both ends `previous` and starts `next`. */
function longestSharedEdge(previous: string, next: string): string {
  for (let k = Math.min(previous.length, next.length) - 1; k > 0; k--) {
    if (previous.endsWith(next.slice(0, k))) return next.slice(0, k);
  }
  return '';
}

function assertWellFormed(chunks: Chunk[], maxTokens: number) {
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(c.content.trim()).not.toBe('');
    expect(c.tokenCount).toBe(countTokens(c.content));
    expect(c.tokenCount).toBeLessThanOrEqual(maxTokens);
  });
}

describe('chunkText', () => {
  it('returns no chunks for empty or blank input, or headings alone', () => {
    expect(chunkText('')).toEqual([]);
    expect(chunkText(' \n\n \t\n')).toEqual([]);
    expect(chunkText('# Title\n\n## Empty section\n')).toEqual([]);
  });

  it('attaches the heading path and keeps sections apart', () => {
    const chunks = chunkText(handbook);
    assertWellFormed(chunks, 300);
    expect(chunks.map((c) => c.heading)).toEqual([
      'Acme Customer Handbook',
      'Acme Customer Handbook > Billing',
      'Acme Customer Handbook > Billing > Payment methods',
      'Acme Customer Handbook > Billing > Refunds',
      'Acme Customer Handbook > Shipping',
      'Acme Customer Handbook > Account security',
    ]);
    const refunds = chunks.find((c) => c.heading?.endsWith('Refunds'));
    expect(refunds?.content).toMatch(/^Refunds are issued within 14 days to the original payment method\./);
    // A `#` line inside a code fence is code, not a new section.
    expect(chunks.find((c) => c.heading?.endsWith('Shipping'))?.content).toContain('# This line is code, not a heading.');
  });

  it('puts text before the first heading under a null heading', () => {
    expect(chunkText('Intro text.\n\n# Later\n\nBody.').map((c) => c.heading)).toEqual([null, 'Later']);
  });

  it('keeps every chunk within maxTokens and overlaps consecutive chunks of one section', () => {
    // Short sentences in short paragraphs, so every boundary has a tail that fits the overlap budget.
    const text = `# Policy\n\n${prose(2000, 40).replace(/([a-z]+ ){7}[a-z]+/g, (m) => `${m}. Then`)}`;
    const chunks = chunkText(text, { maxTokens: 120, overlapTokens: 30 });
    assertWellFormed(chunks, 120);
    expect(chunks.length).toBeGreaterThan(5);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]!.content;
      const current = chunks[i]!.content;
      const shared = longestSharedEdge(previous, current);
      // The new chunk opens with whole trailing sentences of the previous one, no more than the overlap.
      expect(shared.length).toBeGreaterThan(0);
      expect(previous.slice(0, -shared.length)).toMatch(/\.\s$/);
      expect(countTokens(shared)).toBeLessThanOrEqual(30);
    }
  });

  it('does not carry overlap across sections', () => {
    const text = `# A\n\n${prose(400)}\n\n# B\n\nFresh start of section B.`;
    const chunks = chunkText(text, { maxTokens: 100, overlapTokens: 40 });
    const b = chunks.filter((c) => c.heading === 'B');
    expect(b).toEqual([expect.objectContaining({ content: 'Fresh start of section B.' })]);
  });

  it('splits runaway sentences and unbroken strings under the limit', () => {
    const longSentence = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const blob = 'x9Q'.repeat(2000);
    const chunks = chunkText(`${longSentence}\n\n${blob}`, { maxTokens: 64, overlapTokens: 8 });
    assertWellFormed(chunks, 64);
    expect(chunks.map((c) => c.content).join(' ')).toContain('word399');
  });

  it('is deterministic', () => {
    const text = `${handbook}\n\n## Appendix\n\n${prose(3000)}`;
    expect(chunkText(text, { maxTokens: 150, overlapTokens: 40 })).toEqual(chunkText(text, { maxTokens: 150, overlapTokens: 40 }));
  });

  it('rejects nonsensical limits', () => {
    expect(() => chunkText('x', { maxTokens: 0 })).toThrow(RangeError);
    expect(() => chunkText('x', { maxTokens: 50, overlapTokens: 50 })).toThrow(RangeError);
  });

  it('chunks 10k words quickly', () => {
    const text = `# Big\n\n${prose(10_000)}`;
    countTokens('warm-up'); // the one-off encoder load is not what this measures
    const started = performance.now();
    const chunks = chunkText(text);
    console.log(`chunked 10k words into ${chunks.length} chunks in ${(performance.now() - started).toFixed(0)} ms`);
    assertWellFormed(chunks, 300);
  });
});
