import busboy from 'busboy';
import type { Request } from 'express';
import type { z } from 'zod';
import { AppError, ValidationError } from '../../errors.js';
import { parseRequestPart } from '../route.js';
import { findUnsafeText } from '../text-safety.js';

/**
 * The most a form field may hold. Busboy's default is 1 MB a field, so a few stalled uploads held hundreds of
 * megabytes; 4 KiB holds the longest field a route reads (a 500-character title is at most 2,000 UTF-8 bytes).
 */
export const MAX_UPLOAD_FIELD_BYTES = 4 * 1024;

export interface Upload<F> {
  data: Buffer;
  fileName: string;
  mimeType: string;
  /** The form fields, parsed by the route's schema. */
  fields: F;
}

type FieldsSchema = z.ZodObject<z.ZodRawShape>;

const malformed = (message: string, field = 'body') => new ValidationError(`invalid request: ${field}: ${message}`, [{ field, message }]);
const tooLarge = (field: string, limit: number) =>
  new AppError(413, 'payload_too_large', `${field} is larger than ${limit} bytes`, [{ field, message: `larger than ${limit} bytes` }]);

/**
 * Reads one `file` part of a multipart/form-data request, refusing anything over `maxBytes`, and the fields
 * `fields` names, parsed by it. A field it does not name, a field sent twice, a second file or a field over
 * {@link MAX_UPLOAD_FIELD_BYTES} is refused as soon as it arrives, so a hostile form holds little memory.
 *
 * Every emitter on the way has an error handler: busboy reports a cut-off form ("Unexpected end of form") on
 * the file stream as well as on the parser, and an unhandled 'error' there ends the whole process. The
 * first failure settles the promise; the rest of the request is drained so the answer can still be sent.
 */
export function readUpload<S extends FieldsSchema>(req: Request, opts: { maxBytes: number; fields: S }): Promise<Upload<z.infer<S>>> {
  return new Promise((resolve, reject) => {
    if (!req.is('multipart/form-data')) {
      reject(new ValidationError('invalid request: body: send multipart/form-data with a "file" part', [{ field: 'body.file', message: 'required' }]));
      return;
    }
    const names = Object.keys(opts.fields.shape);
    let parser: busboy.Busboy;
    try {
      // One part more than the form takes, so an extra part's header is still read and refused below.
      const limits = { fileSize: opts.maxBytes, files: 1, fields: names.length, parts: names.length + 2, fieldSize: MAX_UPLOAD_FIELD_BYTES };
      parser = busboy({ headers: req.headers, limits });
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
    const fields: Record<string, string> = Object.create(null) as Record<string, string>;
    let file: Omit<Upload<unknown>, 'fields'> | undefined;
    let fileTooLarge = false;
    req.on('error', () => fail(malformed('the request was cut off')));
    req.on('close', () => req.complete || fail(malformed('the request was cut off')));
    parser.on('error', (err: Error) => fail(malformed(err.message)));
    // The client's field name is not echoed: it has not been checked for text the answer should not carry.
    const known = `the form takes a "file" part${names.length ? ` and the fields ${names.join(', ')}` : ''}`;
    parser.on('fieldsLimit', () => fail(malformed(`too many fields: ${known}, each at most once`)));
    parser.on('filesLimit', () => fail(malformed(`too many files: ${known}`)));
    parser.on('field', (name, value, info) => {
      if (!names.includes(name)) return fail(malformed(`unknown field: ${known}`));
      if (info.valueTruncated) return fail(tooLarge(`body.${name}`, MAX_UPLOAD_FIELD_BYTES));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      stream.on('error', (err: Error) => fail(malformed(err.message)));
      if (name !== 'file') return stream.resume();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (fileTooLarge = true));
      stream.on('end', () => (file = { data: Buffer.concat(chunks), fileName: info.filename ?? 'upload', mimeType: info.mimeType }));
    });
    parser.on('close', () => {
      if (settled) return;
      if (fileTooLarge) return fail(tooLarge('body.file', opts.maxBytes));
      if (!file || file.data.length === 0) return fail(malformed('a non-empty file is required', 'body.file'));
      const unsafe = findUnsafeText({ fileName: file.fileName, mimeType: file.mimeType }, 'body.file');
      if (unsafe) return fail(new ValidationError(`invalid request: ${unsafe.field}: ${unsafe.message}`, [unsafe]));
      try {
        const parsed = parseRequestPart(opts.fields, { ...fields }, 'body');
        settled = true;
        resolve({ ...file, fields: parsed });
      } catch (err) {
        fail(err as Error);
      }
    });
    req.pipe(parser);
  });
}
