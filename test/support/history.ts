import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;

/**
 * A workflow run's history as text that a search can find a secret in. Proto JSON (`JSON.stringify` of the
 * history, or `historyToJSON`) holds every payload as base64 of the whole encoded document, so a plain-text
 * search for a secret there can never succeed; tests that say "never in history" must search this instead.
 */
export async function historyText(client: Client, workflowId: string, runId?: string): Promise<string> {
  return decodedHistoryText(await client.workflow.getHandle(workflowId, runId).fetchHistory());
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
