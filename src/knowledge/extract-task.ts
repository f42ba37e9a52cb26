import { chunkText, type Chunk } from './chunk.js';
import { extractText } from './extract.js';

/** What one extraction process hands back: the document's text, its title and its chunks. */
export interface ExtractedDocument {
  text: string;
  title?: string;
  chunks: Chunk[];
}

/**
 * The entry {@link extractDocumentIsolated} runs in a child process. Chunking happens here too: token counting
 * and the heading regexes run over the tenant's text, so they are as much untrusted work as parsing is.
 * `data` arrives as a Uint8Array (structured clone drops the Buffer prototype).
 */
export async function extractAndChunk(input: { contentType: string; data: Uint8Array }): Promise<ExtractedDocument> {
  const data = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const { text, title } = await extractText({ contentType: input.contentType, data });
  const chunks = chunkText(text);
  return title ? { text, title, chunks } : { text, chunks };
}
