import busboy from 'busboy';
import type { Request } from 'express';
import { AppError, ValidationError } from '../errors.js';

export interface Upload {
  data: Buffer;
  fileName: string;
  mimeType: string;
  fields: Record<string, string>;
}

/** Reads one `file` part of a multipart/form-data request, refusing anything over `maxBytes`. */
export function readUpload(req: Request, maxBytes: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(new ValidationError('invalid request: body: send multipart/form-data with a "file" part', [{ field: 'body.file', message: 'required' }]));
      return;
    }
    const parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 20 } });
    const fields: Record<string, string> = {};
    let file: Omit<Upload, 'fields'> | undefined;
    let tooLarge = false;
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (tooLarge = true));
      stream.on('end', () => {
        if (name === 'file') file = { data: Buffer.concat(chunks), fileName: info.filename ?? 'upload', mimeType: info.mimeType };
      });
    });
    parser.on('error', () => reject(new ValidationError('invalid request: body: malformed multipart data')));
    parser.on('close', () => {
      if (tooLarge) return reject(new AppError(413, 'payload_too_large', `the file is larger than ${maxBytes} bytes`));
      if (!file || file.data.length === 0) {
        return reject(new ValidationError('invalid request: body.file: a non-empty file is required', [{ field: 'body.file', message: 'required' }]));
      }
      resolve({ ...file, fields });
    });
    req.pipe(parser);
  });
}
