import { NodeType, parse, type HTMLElement, type Node, type TextNode } from 'node-html-parser';
import { extractText as extractPdfPages, getDocumentProxy } from 'unpdf';

/** Thrown when a document cannot be turned into text: unsupported type, corrupt file, or no text in it. Not worth retrying. */
export class ExtractionError extends Error {
  override readonly name = 'ExtractionError';
}

/** The content types {@link extractText} understands. */
export const SUPPORTED_CONTENT_TYPES = ['text/plain', 'text/markdown', 'text/html', 'application/pdf'] as const;
type SupportedType = (typeof SUPPORTED_CONTENT_TYPES)[number];

const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');
const EXTENSION_TYPES: Record<string, SupportedType> = {
  txt: 'text/plain', text: 'text/plain', md: 'text/markdown', markdown: 'text/markdown',
  htm: 'text/html', html: 'text/html', pdf: 'application/pdf',
};
const ALIASES: Record<string, SupportedType> = { 'text/x-markdown': 'text/markdown', 'application/xhtml+xml': 'text/html' };

/** `Text/HTML; charset=utf-8` → `text/html`, with the usual aliases folded in. */
function normalizeType(contentType: string | undefined): string {
  const bare = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}

/** Readers accept up to 1 KiB of junk before the header, so we do too (Acrobat's rule). */
function isPdf(data: Buffer): boolean {
  return data.subarray(0, 1024).indexOf(PDF_MAGIC) !== -1;
}

/**
 * Decides what an upload really is from its bytes, the declared type and the file name. Uploaders lie or
 * leave the type out, and a PDF parsed as text (or text as a PDF) yields garbage chunks, so the magic bytes
 * win: real PDFs are `application/pdf` whatever was declared, and a declared PDF that is not one is refused.
 * @returns the content type to extract with (possibly unsupported: {@link extractText} rejects those).
 * @throws ExtractionError when the content contradicts a declared PDF, or is binary declared as text.
 */
export function sniffContentType(data: Buffer, declared: string | undefined, fileName?: string): string {
  const type = normalizeType(declared);
  const ext = fileName?.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  const byName = ext ? EXTENSION_TYPES[ext] : undefined;
  if (isPdf(data)) return 'application/pdf';
  if (type === 'application/pdf' || ((type === '' || type === 'application/octet-stream') && byName === 'application/pdf')) {
    throw new ExtractionError(`declared as a PDF${fileName ? ` (${fileName})` : ''} but the content does not start with %PDF-`);
  }
  const resolved = type === '' || type === 'application/octet-stream' ? (byName ?? guessText(data)) : type;
  if (resolved.startsWith('text/') && data.subarray(0, 1024).includes(0)) {
    throw new ExtractionError(`declared as ${resolved} but the content is binary`);
  }
  return resolved;
}

function guessText(data: Buffer): string {
  const head = data.subarray(0, 512).toString('utf8').trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'text/html';
  return data.subarray(0, 1024).includes(0) ? 'application/octet-stream' : 'text/plain';
}

/**
 * Turns an uploaded document into plain text for chunking. Markdown and HTML come out as Markdown, so the
 * chunker can follow `#` headings; PDFs come out page by page, separated by blank lines.
 * @throws ExtractionError for unsupported types, corrupt PDFs and PDFs without a text layer.
 */
export async function extractText(input: { contentType: string; data: Buffer }): Promise<{ text: string; title?: string }> {
  const type = normalizeType(input.contentType);
  switch (type) {
    case 'text/plain':
      return { text: decodeText(input.data) };
    case 'text/markdown': {
      const text = decodeText(input.data);
      return withTitle(text, text.match(/^#\s+(.+?)\s*#*\s*$/m)?.[1]);
    }
    case 'text/html':
      return htmlToMarkdown(decodeText(input.data));
    case 'application/pdf':
      return extractPdf(input.data);
    default:
      throw new ExtractionError(
        `unsupported content type "${input.contentType}"; supported: ${SUPPORTED_CONTENT_TYPES.join(', ')}`,
      );
  }
}

function withTitle(text: string, title: string | undefined): { text: string; title?: string } {
  return title ? { text, title } : { text };
}

/** UTF-8 with the BOM dropped (TextDecoder does that) and Windows line endings folded. */
function decodeText(data: Buffer): string {
  return new TextDecoder('utf-8').decode(data).replace(/\r\n?/g, '\n');
}

async function extractPdf(data: Buffer): Promise<{ text: string; title?: string }> {
  if (!isPdf(data)) throw new ExtractionError('content is not a PDF (no %PDF- header)');
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // unpdf/pdf.js takes ownership of the array it is given, so hand it a copy, not the caller's buffer.
    // verbosity 0: pdf.js would otherwise print recovery warnings for damaged files straight to the console.
    pdf = await getDocumentProxy(new Uint8Array(data), { verbosity: 0 });
  } catch (err) {
    throw new ExtractionError(`corrupt or unreadable PDF: ${(err as Error).message}`, { cause: err });
  }
  try {
    const { text: pages } = await extractPdfPages(pdf, { mergePages: false });
    const text = pages.map((p) => p.trim()).filter(Boolean).join('\n\n');
    if (!text) throw new ExtractionError('PDF has no text layer (scanned images need OCR, which is not supported)');
    const meta = await pdf.getMetadata().catch(() => undefined);
    const title = (meta?.info as { Title?: unknown } | undefined)?.Title;
    return withTitle(text, typeof title === 'string' && title.trim() ? title.trim() : undefined);
  } catch (err) {
    if (err instanceof ExtractionError) throw err;
    throw new ExtractionError(`corrupt or unreadable PDF: ${(err as Error).message}`, { cause: err });
  } finally {
    await pdf.loadingTask.destroy();
  }
}

const DROPPED = new Set(['script', 'style', 'nav', 'noscript', 'template', 'svg', 'iframe', 'head', 'button', 'select']);
const BLOCKS = new Set([
  'p', 'div', 'section', 'article', 'main', 'header', 'footer', 'aside', 'blockquote', 'ul', 'ol', 'dl', 'dt', 'dd',
  'table', 'thead', 'tbody', 'tr', 'form', 'figure', 'figcaption', 'hr', 'address', 'details', 'summary', 'body', 'html',
]);

/** Walks the DOM into Markdown-ish blocks: headings as `#` lines, one blank line between blocks. */
function htmlToMarkdown(html: string): { text: string; title?: string } {
  // node-html-parser keeps a doctype or XML declaration as a text node; they are not content.
  const root = parse(html.replace(/<!doctype[^>]*>|<\?xml[^>]*\?>/gi, ''), { comment: false });
  const blocks: string[] = [];
  let line = '';
  const flush = () => {
    const text = line.split('\n').map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim()).filter(Boolean).join('\n');
    if (text) blocks.push(text);
    line = '';
  };
  const walk = (node: Node): void => {
    if (node.nodeType === NodeType.TEXT_NODE) {
      line += (node as TextNode).text.replace(/\s+/g, ' ');
      return;
    }
    if (node.nodeType !== NodeType.ELEMENT_NODE) return;
    const el = node as HTMLElement;
    const tag = el.rawTagName?.toLowerCase() ?? '';
    if (DROPPED.has(tag)) return;
    const level = /^h([1-6])$/.exec(tag)?.[1];
    if (level) {
      flush();
      const heading = el.text.replace(/\s+/g, ' ').trim();
      if (heading) blocks.push(`${'#'.repeat(Number(level))} ${heading}`);
    } else if (tag === 'pre') {
      flush();
      if (el.text.trim()) blocks.push(el.text.replace(/^\n+|\s+$/g, ''));
    } else if (tag === 'br') {
      line += '\n';
    } else if (tag === 'li') {
      flush();
      line = '- ';
      el.childNodes.forEach(walk);
      if (line.trim() === '-') line = ''; // an empty <li> is not worth a bullet
      flush();
    } else {
      const block = BLOCKS.has(tag);
      if (block) flush();
      if (tag === 'td' || tag === 'th') line += ' ';
      el.childNodes.forEach(walk);
      if (block) flush();
    }
  };
  root.childNodes.forEach(walk);
  flush();
  const title = root.querySelector('title')?.text.trim() || root.querySelector('h1')?.text.trim();
  return withTitle(blocks.join('\n\n'), title || undefined);
}
