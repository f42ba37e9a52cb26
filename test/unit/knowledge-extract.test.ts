import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExtractionError, extractText, sniffContentType } from '../../src/knowledge/extract.js';

const fixtures = join(__dirname, '../fixtures/knowledge');
const handbook = readFileSync(join(fixtures, 'handbook.md'));
const warranty = readFileSync(join(fixtures, 'warranty.pdf'));
const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('extractText', () => {
  it('returns plain text as-is, without a BOM and with Unix line endings', async () => {
    const out = await extractText({ contentType: 'text/plain; charset=utf-8', data: utf8('\uFEFFline one\r\nline two') });
    expect(out).toEqual({ text: 'line one\nline two' });
  });

  it('keeps Markdown headings and takes the first # heading as title', async () => {
    const out = await extractText({ contentType: 'text/markdown', data: handbook });
    expect(out.title).toBe('Acme Customer Handbook');
    expect(out.text).toContain('### Refunds\n\nRefunds are issued within 14 days to the original payment method.');
  });

  it('turns HTML into Markdown: headings, paragraphs, lists, entities; drops script, style and nav', async () => {
    const html = `<!doctype html><html><head><title>Help &amp; FAQ</title><style>p{color:red}</style></head><body>
      <nav><a href="/">Home</a> <a href="/faq">FAQ</a></nav>
      <h1>Help</h1><p>Prices are in &euro; &amp; include&nbsp;VAT.</p>
      <h2>Refunds <small>policy</small></h2>
      <p>Refunds take 14 days.<br>Contact &lt;support&gt;.</p>
      <ul><li>Cards</li><li>Bank   transfer</li></ul>
      <script>alert("x")</script></body></html>`;
    const out = await extractText({ contentType: 'text/html', data: utf8(html) });
    expect(out.title).toBe('Help & FAQ');
    expect(out.text).toBe(
      '# Help\n\nPrices are in € & include VAT.\n\n## Refunds policy\n\nRefunds take 14 days.\nContact <support>.\n\n- Cards\n\n- Bank transfer',
    );
  });

  it('reads deeply nested unclosed tags in linear time, without recursing', async () => {
    // 1 MB: the parser's default flattening of unclosed tags took ~10 minutes of CPU on this (quadratic).
    const out = await extractText({ contentType: 'text/html', data: utf8(`${'<div>'.repeat(200_000)}<h2>Deep</h2>end`) });
    expect(out.text).toBe('## Deep\n\nend');
  });

  it('finds a Markdown title without backtracking over a long run of spaces', async () => {
    // The old title regex backtracked cubically here (2,000 spaces took 9 s).
    const out = await extractText({ contentType: 'text/markdown', data: utf8(`# Long ${' '.repeat(100_000)}title ##\nbody`) });
    expect(out.title).toMatch(/^Long +title$/);
  });

  it('refuses a document over its type’s size limit', async () => {
    await expect(extractText({ contentType: 'text/html', data: Buffer.alloc(5 * 1024 * 1024 + 1, 'a') })).rejects.toThrow(/limited to 5242880 bytes/);
  });

  it('extracts PDF text page by page, with the document title', async () => {
    const out = await extractText({ contentType: 'application/pdf', data: warranty });
    expect(out.title).toBe('Acme Warranty Terms');
    expect(out.text).toContain('The warranty covers manufacturing defects for 24 months.');
    const [page1, page2] = out.text.split('\n\n');
    expect(page1).toContain('Warranty Terms');
    expect(page2).toContain('Claims must include the order number and proof of purchase.');
  });

  it('refuses a corrupt PDF', async () => {
    const corrupt = Buffer.concat([warranty.subarray(0, 400), Buffer.from('garbage'.repeat(20))]);
    await expect(extractText({ contentType: 'application/pdf', data: corrupt })).rejects.toThrow(ExtractionError);
    await expect(extractText({ contentType: 'application/pdf', data: utf8('not a pdf') })).rejects.toThrow(/not a PDF/);
  });

  it('refuses unsupported types with a message naming the supported ones', async () => {
    const err = await extractText({ contentType: 'image/png', data: Buffer.from([0x89, 0x50]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractionError);
    expect((err as Error).message).toMatch(/unsupported content type "image\/png".*application\/pdf/);
  });
});

describe('sniffContentType', () => {
  it('trusts the magic bytes over the declared type', () => {
    expect(sniffContentType(warranty, 'application/octet-stream', 'scan.bin')).toBe('application/pdf');
    expect(sniffContentType(warranty, 'text/plain')).toBe('application/pdf');
  });

  it('refuses a declared PDF that is not one', () => {
    expect(() => sniffContentType(utf8('<html>surprise</html>'), 'application/pdf', 'fake.pdf')).toThrow(ExtractionError);
    expect(() => sniffContentType(utf8('hello'), undefined, 'fake.pdf')).toThrow(/does not start with %PDF-/);
  });

  it('falls back to the file name, then to the content, when the type is missing', () => {
    expect(sniffContentType(handbook, undefined, 'handbook.md')).toBe('text/markdown');
    expect(sniffContentType(utf8('<!DOCTYPE html><p>x</p>'), 'application/octet-stream')).toBe('text/html');
    expect(sniffContentType(utf8('just words'), undefined)).toBe('text/plain');
    expect(sniffContentType(utf8('x'), 'Text/X-Markdown; charset=utf-8')).toBe('text/markdown');
  });

  it('refuses binary content declared as text', () => {
    expect(() => sniffContentType(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]), 'text/plain')).toThrow(/binary/);
  });
});
