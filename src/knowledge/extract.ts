import { NodeType, parse, type HTMLElement, type Node, type TextNode } from 'node-html-parser';

/** Thrown when a document cannot be turned into text: unsupported type, corrupt file, or no text in it. Not worth retrying. */
export class ExtractionError extends Error {
  override readonly name = 'ExtractionError';
}

/** The content types {@link extractText} understands. */
export const SUPPORTED_CONTENT_TYPES = ['text/plain', 'text/markdown', 'text/html', 'application/pdf'] as const;
type SupportedType = (typeof SUPPORTED_CONTENT_TYPES)[number];

/**
 * The largest document of each type that is extracted, in bytes. HTML is parsed into a DOM (several times its
 * size in memory), so it gets less room than text; the gateway's upload limit (10 MiB) is the ceiling.
 */
export const MAX_DOCUMENT_BYTES: Record<SupportedType, number> = {
  'text/plain': 10 * 1024 * 1024,
  'text/markdown': 10 * 1024 * 1024,
  'text/html': 5 * 1024 * 1024,
  'application/pdf': 10 * 1024 * 1024,
};

/** A PDF can inflate to far more text than its size; past this the document is refused rather than indexed. */
export const MAX_EXTRACTED_CHARS = 10 * 1024 * 1024;

/** @throws ExtractionError when `bytes` is more than {@link MAX_DOCUMENT_BYTES} allows for the type. */
export function checkDocumentSize(contentType: string, bytes: number): void {
  const limit = MAX_DOCUMENT_BYTES[normalizeType(contentType) as SupportedType];
  if (limit !== undefined && bytes > limit) {
    throw new ExtractionError(`the document is ${bytes} bytes; ${normalizeType(contentType)} documents are limited to ${limit} bytes`);
  }
}

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
  checkDocumentSize(input.contentType, input.data.length);
  const out = await extractByType(input);
  if (out.text.length > MAX_EXTRACTED_CHARS) {
    throw new ExtractionError(`the document's text is ${out.text.length} characters; at most ${MAX_EXTRACTED_CHARS} are indexed`);
  }
  return out;
}

async function extractByType(input: { contentType: string; data: Buffer }): Promise<{ text: string; title?: string }> {
  switch (normalizeType(input.contentType)) {
    case 'text/plain':
      return { text: decodeText(input.data) };
    case 'text/markdown': {
      const text = decodeText(input.data);
      return withTitle(text, markdownTitle(text));
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

/**
 * The first `# ` heading, without a closing `#` run. Plain string work: the regex it replaces
 * (`^#\s+(.+?)\s*#*\s*$`) backtracked cubically on a heading followed by a long run of spaces.
 */
function markdownTitle(text: string): string | undefined {
  const line = /^#[ \t]+\S.*$/m.exec(text)?.[0];
  if (!line) return undefined;
  let title = line.slice(1).trim();
  let end = title.length;
  while (end > 0 && title[end - 1] === '#') end--;
  title = title.slice(0, end).trim();
  return title || undefined;
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
  // Loaded on first use: pdf.js is most of an extraction process's start-up, and most documents are not PDFs.
  const { extractText: extractPdfPages, getDocumentProxy } = await import('unpdf');
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

/**
 * Walks the DOM into Markdown-ish blocks: headings as `#` lines, one blank line between blocks.
 * Untrusted HTML can nest as deep as it is long (`<div>` × 200,000), so nothing here recurses: the walk keeps
 * its own stack, and the parser is told to keep unclosed tags nested (its default flattening of them moves
 * every child once per level: quadratic, 13 minutes of CPU for 1 MB of `<div>`).
 */
function htmlToMarkdown(html: string): { text: string; title?: string } {
  // node-html-parser keeps a doctype or XML declaration as a text node; they are not content. Anchored at the
  // start: an unanchored search rescans to the end for every `<!doctype` of a document without `>`.
  const root = parse(html.replace(/^\s*(?:<\?xml[^>]*>\s*)?(?:<!doctype[^>]*>)?/i, ''), { comment: false, parseNoneClosedTags: true });
  const blocks: string[] = [];
  let line = '';
  const flush = () => {
    const text = line.split('\n').map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim()).filter(Boolean).join('\n');
    if (text) blocks.push(text);
    line = '';
  };
  // Either a node to visit or something to do once a node's children are done.
  const stack: (Node | (() => void))[] = [...root.childNodes].reverse();
  const visitChildren = (el: HTMLElement, after?: () => void) => {
    if (after) stack.push(after);
    for (let i = el.childNodes.length - 1; i >= 0; i--) stack.push(el.childNodes[i]!);
  };
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'function') {
      item();
      continue;
    }
    if (item.nodeType === NodeType.TEXT_NODE) {
      line += (item as TextNode).text.replace(/\s+/g, ' ');
      continue;
    }
    if (item.nodeType !== NodeType.ELEMENT_NODE) continue;
    const el = item as HTMLElement;
    const tag = el.rawTagName?.toLowerCase() ?? '';
    if (DROPPED.has(tag)) continue;
    const level = /^h([1-6])$/.exec(tag)?.[1];
    if (level) {
      flush();
      const heading = textOf(el).replace(/\s+/g, ' ').trim();
      if (heading) blocks.push(`${'#'.repeat(Number(level))} ${heading}`);
    } else if (tag === 'pre') {
      flush();
      const text = textOf(el);
      if (text.trim()) blocks.push(text.replace(/^\n+/, '').trimEnd());
    } else if (tag === 'br') {
      line += '\n';
    } else if (tag === 'li') {
      flush();
      line = '- ';
      visitChildren(el, () => {
        if (line.trim() === '-') line = ''; // an empty <li> is not worth a bullet
        flush();
      });
    } else {
      const block = BLOCKS.has(tag);
      if (block) flush();
      if (tag === 'td' || tag === 'th') line += ' ';
      visitChildren(el, block ? flush : undefined);
    }
  }
  flush();
  const title = firstText(root, 'title') || firstText(root, 'h1');
  return withTitle(blocks.join('\n\n'), title || undefined);
}

/** An element's text (entities decoded), gathered without recursion. */
function textOf(el: HTMLElement): string {
  let text = '';
  const stack: Node[] = [el];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === NodeType.TEXT_NODE) text += (node as TextNode).text;
    else for (let i = node.childNodes.length - 1; i >= 0; i--) stack.push(node.childNodes[i]!);
  }
  return text;
}

/** The trimmed text of the first `tag` element in document order, or ''. */
function firstText(root: HTMLElement, tag: string): string {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType !== NodeType.ELEMENT_NODE) continue;
    const el = node as HTMLElement;
    if (el.rawTagName?.toLowerCase() === tag) return textOf(el).trim();
    for (let i = el.childNodes.length - 1; i >= 0; i--) stack.push(el.childNodes[i]!);
  }
  return '';
}
