import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';

/** One piece of a document, sized for retrieval and prompts. */
export interface Chunk {
  /** 0-based position in the document; stable for the same input. */
  index: number;
  content: string;
  /** Heading path of the section the chunk belongs to, e.g. `"Billing > Refunds"`; null before any heading. */
  heading: string | null;
  /** Exact cl100k_base token count of `content`. */
  tokenCount: number;
}

/** Chunk size limits, in cl100k_base tokens. */
export interface ChunkOptions {
  /** Upper bound of every chunk's `tokenCount` (default 300). */
  maxTokens?: number;
  /** How much of the previous chunk's tail is repeated at the start of the next one in the same section (default 50). */
  overlapTokens?: number;
}

/** A paragraph, sentence or word run; `sep` is what joins it to the piece before it. */
interface Piece { text: string; tokens: number; sep: string }
type Sized = Omit<Piece, 'sep'>;

// Loading the ranks costs ~0.8 s, so the encoder is built on first use rather than at import time, then reused:
// it is immutable and the ranks ship inside the package (no network).
let encoder: Tiktoken | undefined;

/** Counts tokens the way OpenAI's embedding and chat models (cl100k_base) do, so limits match what the model sees. */
export function countTokens(text: string): number {
  encoder ??= new Tiktoken(cl100k);
  return encoder.encode(text).length;
}

/**
 * Splits text (plain or Markdown) into chunks of at most `maxTokens` tokens: by heading sections first, then
 * paragraphs, then sentences, then words for runaway sentences. Consecutive chunks of one section share up to
 * `overlapTokens` of whole trailing pieces so an answer split across a boundary is still found whole.
 * Heading lines are not repeated in `content`; they travel in `heading` (which the search index includes).
 * Pure and deterministic: the same text and options always give the same chunks.
 */
export function chunkText(text: string, opts: ChunkOptions = {}): Chunk[] {
  const maxTokens = opts.maxTokens ?? 300;
  const overlapTokens = opts.overlapTokens ?? 50;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError('maxTokens must be a positive integer');
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new RangeError('overlapTokens must be an integer in [0, maxTokens)');
  }
  const chunks: Chunk[] = [];
  for (const section of splitSections(text.replace(/\r\n?/g, '\n'))) {
    for (const content of packSection(toPieces(section.body, maxTokens), maxTokens, overlapTokens)) {
      chunks.push({ index: chunks.length, content, heading: section.heading, tokenCount: countTokens(content) });
    }
  }
  return chunks;
}

// Linear on any line: the lazy `(.+?)(?:[ \t]+#+)?[ \t]*$` it replaces was quadratic in a line's trailing
// spaces ('# a' + 80,000 spaces + 'b' held the worker 9 s); the closing #s are cut by `headingTitle`.
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.+)$/;

/** A heading's text without its optional closing sequence (`## Title ##`; `# C#` keeps its #). */
function headingTitle(raw: string): string {
  const text = raw.trimEnd();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  const closed = end > 0 && end < text.length && (text[end - 1] === ' ' || text[end - 1] === '\t');
  return (closed ? text.slice(0, end) : text).trim();
}
const FENCE = /^ {0,3}(```|~~~)/;

/** ATX headings start sections; a `#` line inside a fenced code block is code, not a heading. */
function splitSections(text: string): Array<{ heading: string | null; body: string }> {
  const sections: Array<{ heading: string | null; body: string }> = [];
  const path: Array<{ level: number; title: string }> = [];
  let heading: string | null = null;
  let lines: string[] = [];
  let inFence = false;
  const close = () => {
    const body = lines.join('\n').trim();
    if (body) sections.push({ heading, body });
    lines = [];
  };
  for (const line of text.split('\n')) {
    if (FENCE.test(line)) inFence = !inFence;
    const m = inFence ? null : HEADING.exec(line);
    if (!m) {
      lines.push(line);
      continue;
    }
    close();
    const level = m[1]!.length;
    while (path.length > 0 && path[path.length - 1]!.level >= level) path.pop();
    path.push({ level, title: headingTitle(m[2]!) });
    heading = path.map((h) => h.title).join(' > ');
  }
  close();
  return sections;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/** ICU sentence rules (built into Node) know abbreviations and decimals better than a regex would. */
function splitSentences(text: string): string[] {
  return Array.from(sentenceSegmenter.segment(text), (s) => s.segment.trim()).filter(Boolean);
}

/** Paragraphs that fit stay whole; larger ones fall back to sentences, and sentences to word runs. */
function toPieces(body: string, maxTokens: number): Piece[] {
  const pieces: Piece[] = [];
  for (const paragraph of body.split(/\n[ \t]*\n/)) {
    const text = paragraph.trim();
    if (!text) continue;
    const tokens = countTokens(text);
    if (tokens <= maxTokens) {
      pieces.push({ text, tokens, sep: '\n\n' });
      continue;
    }
    let sep = '\n\n';
    for (const sentence of splitSentences(text)) {
      const tokens = countTokens(sentence);
      for (const part of tokens <= maxTokens ? [{ text: sentence, tokens }] : splitWords(sentence, maxTokens)) {
        pieces.push({ ...part, sep });
        sep = ' ';
      }
    }
  }
  return pieces;
}

/** Greedy word runs under the limit; a single word longer than the limit (a URL, base64) is cut by characters. */
function splitWords(sentence: string, maxTokens: number): Sized[] {
  const out: Sized[] = [];
  let words: string[] = [];
  let estimate = 0;
  const emit = () => {
    if (words.length > 0) out.push({ text: words.join(' '), tokens: countTokens(words.join(' ')) });
    words = [];
    estimate = 0;
  };
  for (const word of sentence.split(/\s+/)) {
    // +1 per word is a safe upper bound for the joining space, so the exact count never exceeds the estimate.
    const tokens = countTokens(word) + 1;
    if (tokens > maxTokens) {
      emit();
      out.push(...cutLongWord(word, maxTokens));
    } else {
      if (estimate + tokens > maxTokens) emit();
      words.push(word);
      estimate += tokens;
    }
  }
  emit();
  return out;
}

function cutLongWord(word: string, maxTokens: number): Sized[] {
  const out: Sized[] = [];
  const chars = Array.from(word); // code points, so a cut never splits a surrogate pair
  for (let start = 0; start < chars.length; ) {
    let size = Math.min(chars.length - start, maxTokens);
    while (size > 1 && countTokens(chars.slice(start, start + size).join('')) > maxTokens) size = Math.ceil(size / 2);
    const text = chars.slice(start, start + size).join('');
    out.push({ text, tokens: countTokens(text) });
    start += size;
  }
  return out;
}

/** Sum of piece tokens plus one per separator: an upper bound of the joined text's exact count. */
function estimate(pieces: Piece[]): number {
  return pieces.reduce((sum, p, i) => sum + p.tokens + (i > 0 ? 1 : 0), 0);
}

function join(pieces: Piece[]): string {
  return pieces.map((p, i) => (i === 0 ? p.text : p.sep + p.text)).join('');
}

/** Greedy packing; each new chunk opens with the previous one's tail (see {@link overlapTail}) when both fit. */
function packSection(pieces: Piece[], maxTokens: number, overlapTokens: number): string[] {
  const out: string[] = [];
  let current: Piece[] = [];
  for (const piece of pieces) {
    if (current.length > 0 && estimate([...current, piece]) > maxTokens) {
      out.push(join(current));
      let carry = overlapTail(current, overlapTokens);
      while (carry.length > 0 && estimate([...carry, piece]) > maxTokens) carry = carry.slice(1);
      current = carry;
    }
    current.push(piece);
  }
  // `current` always ends with a piece not yet emitted, so no chunk is ever made of overlap alone.
  if (current.length > 0) out.push(join(current));
  return out;
}

/** Whole trailing pieces within the overlap budget; a piece too big to repeat whole gives its trailing sentences. */
function overlapTail(pieces: Piece[], overlapTokens: number): Piece[] {
  let carry: Piece[] = [];
  for (let i = pieces.length - 1; i >= 0; i--) {
    const piece = pieces[i]!;
    if (estimate([piece, ...carry]) <= overlapTokens) {
      carry = [piece, ...carry];
      continue;
    }
    const tail: Piece[] = [];
    for (const sentence of splitSentences(piece.text).reverse()) {
      const candidate = { text: sentence, tokens: countTokens(sentence), sep: ' ' };
      if (estimate([candidate, ...tail, ...carry]) > overlapTokens) break;
      tail.unshift(candidate);
    }
    return [...tail, ...carry];
  }
  return carry;
}
