import { describe, expect, it } from 'vitest';
import { EXTRACTION_LIMITS, extractDocumentIsolated } from '../../src/knowledge/extract-isolated';
import { ExtractionError, MAX_DOCUMENT_BYTES } from '../../src/knowledge/extract';

const html = (s: string) => ({ contentType: 'text/html', data: Buffer.from(s, 'utf8') });
/** ~5 MB of unclosed tags: about 5 s of CPU to parse even without the old quadratic flattening. */
const nestedPage = html('<div>'.repeat(1_000_000));

async function failure(promise: Promise<unknown>): Promise<ExtractionError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ExtractionError);
  return error as ExtractionError;
}

describe('extractDocumentIsolated', () => {
  it('reads a hostile 200 KB page in another process, text and chunks', async () => {
    let pid = 0;
    const out = await extractDocumentIsolated(html(`${'<div>'.repeat(40_000)}<h1>Refunds</h1><p>within 14 days</p>`), { onSpawn: (p) => (pid = p) });
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    expect(out.text).toBe('# Refunds\n\nwithin 14 days');
    expect(out.chunks).toEqual([expect.objectContaining({ heading: 'Refunds', content: 'within 14 days' })]);
  });

  it('kills a document at the CPU limit and says so', async () => {
    const error = await failure(extractDocumentIsolated(nestedPage, { limits: { ...EXTRACTION_LIMITS, cpuSeconds: 2 } }));
    expect(error.message).toMatch(/CPU time limit of 2 s/);
  });

  it('stops a document at the memory limit', async () => {
    const error = await failure(extractDocumentIsolated(nestedPage, { limits: { ...EXTRACTION_LIMITS, memoryMb: 48 } }));
    expect(error.message).toMatch(/memory limit of 48 MB/);
  });

  it('refuses a document over its type’s size limit without starting a process', async () => {
    let spawned = false;
    const big = html('<p>'.repeat(Math.ceil(MAX_DOCUMENT_BYTES['text/html'] / 3) + 1));
    const error = await failure(extractDocumentIsolated(big, { onSpawn: () => (spawned = true) }));
    expect(error.message).toMatch(/text\/html documents are limited to 5242880 bytes/);
    expect(spawned).toBe(false);
  });

  it('refuses a result over the output limit', async () => {
    const text = { contentType: 'text/plain', data: Buffer.from('word '.repeat(2_000)) };
    const error = await failure(extractDocumentIsolated(text, { limits: { ...EXTRACTION_LIMITS, maxOutputBytes: 1_000 } }));
    expect(error.message).toMatch(/larger than 1000 bytes/);
  });

  it('passes the extractor’s own refusals back as ExtractionError', async () => {
    const error = await failure(extractDocumentIsolated({ contentType: 'application/pdf', data: Buffer.from('not a pdf') }));
    expect(error.message).toMatch(/not a PDF/);
  });
});
