import { existsSync } from 'node:fs';
import path from 'node:path';
import { runInSandbox, SandboxError, type SandboxLimits } from '../sandbox/child-process.js';
import type { ExtractedDocument } from './extract-task.js';
import { checkDocumentSize, ExtractionError } from './extract.js';

/**
 * Limits of one document's extraction and chunking, on top of the per-type sizes in `MAX_DOCUMENT_BYTES`.
 * A 5 MiB HTML page of nested tags takes about 5 s of CPU, a 10 MiB text file about as long to chunk; 30 s
 * leaves room for slow machines while bounding what one hostile document can cost. The heap holds the DOM
 * (several times the page) or pdf.js; the output is the text plus its chunks (with their overlap).
 */
export const EXTRACTION_LIMITS: SandboxLimits = {
  memoryMb: 512,
  cpuSeconds: 30,
  timeoutMs: 120_000,
  maxOutputBytes: 64 * 1024 * 1024,
};

// Compiled output has extract-task.js next to this file; under tsx and vitest only the .ts exists.
const TASK_MODULE = ['.js', '.ts'].map((ext) => path.join(__dirname, `extract-task${ext}`)).find((f) => existsSync(f))
  ?? path.join(__dirname, 'extract-task.ts');

/**
 * Extracts and chunks an untrusted document in its own process (see `src/sandbox/child-process.ts`), so a
 * document that is slow, huge or crashes the parser costs one child process, never the worker's event loop.
 * @throws ExtractionError when the document is unreadable or breaks a limit: permanent, never worth retrying.
 * @throws SandboxError (`cancelled`, `crashed`) and other errors for failures a retry may fix.
 */
export async function extractDocumentIsolated(
  input: { contentType: string; data: Buffer },
  opts: { signal?: AbortSignal; limits?: SandboxLimits; onSpawn?: (pid: number) => void } = {},
): Promise<ExtractedDocument> {
  checkDocumentSize(input.contentType, input.data.length);
  const limits = opts.limits ?? EXTRACTION_LIMITS;
  try {
    return await runInSandbox<ExtractedDocument>({ module: TASK_MODULE, exportName: 'extractAndChunk' }, input, limits, opts);
  } catch (err) {
    throw toExtractionFailure(err);
  }
}

function toExtractionFailure(err: unknown): unknown {
  if (!(err instanceof SandboxError)) return err;
  switch (err.reason) {
    case 'cpu_limit':
    case 'memory_limit':
    case 'output_limit':
    case 'timeout':
      return new ExtractionError(`document extraction stopped: it ${err.message} (too large or too complex to index)`, { cause: err });
    case 'task_error':
      // The extractor's own refusals, and a document nested deeper than the stack or a string allows.
      if (err.errorName === 'ExtractionError' || err.errorName === 'RangeError') return new ExtractionError(err.message, { cause: err });
      return err;
    default:
      return err;
  }
}
