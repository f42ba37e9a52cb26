import type { Client } from '@temporalio/client';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/**
 * A workflow run's history as text that a search can find a secret in. Proto JSON (`JSON.stringify` of the
 * history, or `historyToJSON`) holds every payload as base64 of the whole encoded document, so a plain-text
 * search for a secret there can never succeed; tests that say "never in history" must search this instead.
 * Payloads are decrypted first with the client's codecs (histories are encrypted: src/temporal/data-converter.ts),
 * so the search sees what the product put in them; {@link rawHistoryText} is what the server stores.
 */
export async function historyText(client: Client, workflowId: string, runId?: string): Promise<string> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  await decodePayloadsInPlace(history, client.options.loadedDataConverter.payloadCodecs);
  return decodedHistoryText(history);
}

/** The history as Temporal's database holds it (no codec), searchable as {@link historyText}. */
export async function rawHistoryText(client: Client, workflowId: string, runId?: string): Promise<string> {
  return decodedHistoryText(await client.workflow.getHandle(workflowId, runId).fetchHistory());
}

/** Every payload of `value` (any depth) through the codecs' decode, last codec first, in place. */
export async function decodePayloadsInPlace(value: unknown, codecs: PayloadCodec[]): Promise<void> {
  if (codecs.length === 0 || value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  for (const [key, child] of Object.entries(value)) {
    if (isPayload(child)) {
      let decoded: Payload[] = [child];
      for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
      (value as Record<string, unknown>)[key] = decoded[0];
    } else if (Array.isArray(child) && child.some(isPayload)) {
      let decoded = child as Payload[];
      for (const codec of [...codecs].reverse()) decoded = await codec.decode(decoded);
      (value as Record<string, unknown>)[key] = decoded;
    } else {
      await decodePayloadsInPlace(child, codecs);
    }
  }
}

function isPayload(value: unknown): value is Payload {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  const metadata = (value as { metadata?: unknown }).metadata;
  return metadata !== null && typeof metadata === 'object' && (metadata as Record<string, unknown>).encoding instanceof Uint8Array;
}

/**
 * Every bytes field decoded as UTF-8, wherever it sits: event inputs and results, failures and their encoded
 * attributes, heartbeat details, memo, search attributes, headers, payload metadata. A JSON payload is parsed
 * in place, so its strings are escaped once, as in any other `JSON.stringify` a test searches.
 */
export function decodedHistoryText(history: History): string {
  return JSON.stringify(decode(history));
}

function decode(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== 'object') return value;
  if (isLong(value)) return value.toString();
  // Own enumerable keys of a protobufjs message are the fields that were set; defaults live on the prototype.
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  if (isJsonPayload(out)) out.data = JSON.parse(out.data);
  return out;
}

function isLong(value: object): value is { toString(): string } {
  return 'low' in value && 'high' in value && 'unsigned' in value;
}

function isJsonPayload(value: Record<string, unknown>): value is { data: string } {
  const encoding = (value.metadata as Record<string, unknown> | undefined)?.encoding;
  return typeof value.data === 'string' && encoding === 'json/plain';
}
