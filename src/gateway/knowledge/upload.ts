import busboy from 'busboy';
import type { Request } from 'express';
import { AppError, ValidationError } from '../../errors.js';
import { findUnsafeText } from '../text-safety.js';

export interface Upload {
  data: Buffer;
  fileName: string;
  mimeType: string;
  fields: Record<string, string>;
}

const malformed = (message: string) => new ValidationError(`invalid request: body: ${message}`, [{ field: 'body', message }]);

/**
 * Reads one `file` part of a multipart/form-data request, refusing anything over `maxBytes`.
 *
 * Every emitter on the way has an error handler: busboy reports a cut-off form ("Unexpected end of form") on
 * the file stream as well as on the parser, and an unhandled 'error' there ends the whole process. The
 * first failure settles the promise; the rest of the request is drained so the answer can still be sent.
 */
export function readUpload(req: Request, maxBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(new ValidationError('invalid request: body: send multipart/form-data with a "file" part', [{ field: 'body.file', message: 'required' }]));
      return;
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 20, parts: 40 } });
    } catch (err) {
      // No boundary, or a content type busboy cannot read: thrown synchronously.
      reject(malformed(err instanceof Error ? err.message : 'unreadable multipart header'));
      return;
    }
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      req.resume();
      reject(err);
    };
    const fields: Record<string, string> = {};
    let file: Omit<Upload, 'fields'> | undefined;
    let tooLarge = false;
    req.on('error', () => fail(malformed('the request was cut off')));
    req.on('close', () => req.complete || fail(malformed('the request was cut off')));
    parser.on('error', (err: Error) => fail(malformed(err.message)));
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, stream, info) => {
      stream.on('error', (err: Error) => fail(malformed(err.message)));
      if (name !== 'file') return stream.resume();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (tooLarge = true));
      stream.on('end', () => (file = { data: Buffer.concat(chunks), fileName: info.filename ?? 'upload', mimeType: info.mimeType }));
    });
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      if (tooLarge) return reject(new AppError(413, 'payload_too_large', `the file is larger than ${maxBytes} bytes`));
      if (!file || file.data.length === 0) {
        return reject(new ValidationError('invalid request: body.file: a non-empty file is required', [{ field: 'body.file', message: 'required' }]));
      }
      const unsafe = findUnsafeText(fields, 'body') ?? findUnsafeText({ fileName: file.fileName, mimeType: file.mimeType }, 'body.file');
      if (unsafe) return reject(new ValidationError(`invalid request: ${unsafe.field}: ${unsafe.message}`, [unsafe]));
      resolve({ ...file, fields });
    });
    req.pipe(parser);
  });
}
