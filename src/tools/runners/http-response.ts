import type { GuardedResponse } from '../../net/net-guard.js';
import { ToolError } from '../types.js';

/** What the api and webhook runners hand back to the model for a 2xx answer. */
export interface HttpToolResult {
  status: number;
  /** Parsed JSON when the answer is JSON, otherwise the text; `null` for an empty body. */
  body: unknown;
  /** Present when the body was cut at `maxResponseBytes` (a cut JSON document is returned as text). */
  truncated?: true;
}

/** Characters of an error response quoted in the ToolError message, enough for the model to see why. */
const errorSnippetChars = 500;

/**
 * Maps one response to the runner's result or a ToolError: 2xx returns; 429, and 503 with Retry-After, are
 * `rate_limited`; other 5xx `server_error`; everything else (4xx, unfollowable 3xx) `client_error`.
 * `secrets` are blanked out of the quoted body, in case the remote side echoes what it was sent.
 */
export function toToolResult(res: GuardedResponse, label: string, secrets: string[], now = Date.now()): HttpToolResult {
  const body = parseBody(res);
  if (res.status >= 200 && res.status < 300) return res.truncated ? { status: res.status, body, truncated: true } : { status: res.status, body };

  const quoted = redact(res.body.slice(0, errorSnippetChars), secrets).trim();
  const message = `${label} answered HTTP ${res.status}${quoted ? `: ${quoted}` : ''}`;
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now);
  if (res.status === 429 || (res.status === 503 && retryAfterMs !== undefined)) {
    throw new ToolError('rate_limited', message, retryAfterMs === undefined ? { status: res.status } : { status: res.status, retryAfterMs });
  }
  if (res.status >= 500) throw new ToolError('server_error', message, { status: res.status });
  throw new ToolError('client_error', message, { status: res.status });
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function parseBody(res: GuardedResponse): unknown {
  if (res.body === '') return null;
  const type = res.headers.get('content-type') ?? '';
  // Some APIs send JSON as text/plain, so a body that looks like a document is tried too.
  if (!res.truncated && (/[/+]json\b/i.test(type) || /^\s*[[{]/.test(res.body))) {
    try {
      return JSON.parse(res.body) as unknown;
    } catch {
      // not JSON after all: returned as text
    }
  }
  return res.body;
}

function redact(text: string, secrets: string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}
