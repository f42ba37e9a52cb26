import type { Payload } from '@temporalio/common';
import { z } from '../../zod.js';

/** Standard or URL-safe base64 (proto JSON writes standard; both decode), padded or not. */
const base64 = z
  .string()
  .max(4 * 1024 * 1024)
  .refine((v) => /^[A-Za-z0-9+/_-]*={0,2}$/.test(v) && v.replace(/=+$/, '').length % 4 !== 1, 'must be base64');

/** One payload as Temporal's codec server protocol sends it: proto JSON, bytes as base64. */
export const codecPayloadSchema = z
  .object({
    metadata: z
      .record(z.string().min(1).max(256), base64)
      .refine((m) => Object.keys(m).length <= 64, 'at most 64 metadata entries')
      .optional(),
    data: base64.optional(),
  })
  .openapi('CodecPayload');

/** The body of `/codec/encode` and `/codec/decode` and their answer. */
export const codecPayloadsSchema = z
  .object({ payloads: z.array(codecPayloadSchema).max(1000) })
  .openapi('CodecPayloads', { description: "Temporal's remote codec protocol: the payloads to transform, in order" });

export type CodecPayloads = z.infer<typeof codecPayloadsSchema>;

const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('base64');

export function payloadsFromJson(body: CodecPayloads): Payload[] {
  return body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, bytes(v)])),
    data: bytes(p.data ?? ''),
  }));
}

export function payloadsToJson(payloads: Payload[]): CodecPayloads {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, text(v)])),
      data: text(p.data),
    })),
  };
}
