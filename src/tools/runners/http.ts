import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { credentialRefusal } from '../destinations.js';
import type { NetGuard } from '../../net/net-guard.js';
import { guardedFetch } from '../outbound.js';
import { ToolError, type ResolvedTool, type ToolCallContext, type ToolRunner } from '../types.js';
import { createCredentialApplier, type AppliedAuth } from './http-auth.js';
import { toToolResult } from './http-response.js';
import { buildBody, renderMap, renderTemplate } from './http-template.js';

const defaultMaxResponseBytes = 100_000;

/** Config of an `api` tool; every string value may hold `{argName}` placeholders. */
export const apiToolConfigSchema = z.object({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  /** Placeholder values are URI-encoded. */
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  query: z.record(z.string(), z.string()).optional(),
  /** `'args'` sends the arguments as the JSON body; a mapping builds it field by field (see `buildBody`). */
  body: z.union([z.literal('args'), z.record(z.string(), z.string())]).optional(),
  maxResponseBytes: z.number().int().positive().optional(),
});

/**
 * Config of a `webhook` tool. The signing secret comes from the tool's `bearer` credentials (stored
 * encrypted, never sent) or else from `signingSecret` here; other credential types authenticate the request.
 */
export const webhookToolConfigSchema = z.object({
  url: z.string().min(1),
  signingSecret: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  maxResponseBytes: z.number().int().positive().optional(),
});

export interface HttpRunnerDeps {
  guard: NetGuard;
  /** Clock for oauth2 token expiry and webhook timestamps; injected by tests. */
  now?: () => number;
}

/** The `api` and `webhook` runners. Build once per worker: the oauth2 token cache lives in the closure. */
export function createHttpRunners(deps: HttpRunnerDeps): { api: ToolRunner; webhook: ToolRunner } {
  const now = deps.now ?? Date.now;
  const credentials = createCredentialApplier({ guard: deps.guard, now });

  const api: ToolRunner = async (tool, args, ctx) => {
    const config = parseConfig(apiToolConfigSchema, tool);
    const url = parseUrl(renderTemplate(config.url, args, encodeURIComponent));
    for (const [name, value] of Object.entries(renderMap(config.query, args))) url.searchParams.append(name, value);
    const headers = renderMap(config.headers, args);
    setDefault(headers, 'Accept', 'application/json, text/plain;q=0.9, */*;q=0.8');
    let body: string | undefined;
    if (config.body !== undefined) {
      body = JSON.stringify(buildBody(config.body, args));
      setDefault(headers, 'Content-Type', 'application/json');
    }
    checkDestination(tool, url);
    const auth = reported(ctx, await credentials.apply(tool, tool.credentials, headers, url, ctx.signal, ctx.onTokenRefreshed));
    const res = await guardedFetch(deps.guard, url, {
      method: config.method,
      headers,
      body,
      signal: ctx.signal,
      maxResponseBytes: config.maxResponseBytes ?? defaultMaxResponseBytes,
      sensitiveHeaders: auth.sensitiveHeaders,
    });
    if (res.status === 401) credentials.invalidate(tool, tool.credentials);
    return toToolResult(res, tool.name, auth.secrets, now());
  };

  const webhook: ToolRunner = async (tool, args, ctx) => {
    const config = parseConfig(webhookToolConfigSchema, tool);
    const secret = tool.credentials?.type === 'bearer' ? tool.credentials.token : config.signingSecret;
    if (!secret) throw new ToolError('invalid_input', `${tool.name}: a webhook needs a signing secret (bearer credentials or config.signingSecret)`);
    const url = parseUrl(config.url);
    // The signature is made with the credential too: signing for another host would hand out signatures.
    checkDestination(tool, url);
    ctx.addSecret?.(secret);
    const body = JSON.stringify(args);
    const headers: Record<string, string> = {
      ...config.headers,
      'Content-Type': 'application/json',
      'Idempotency-Key': ctx.idempotencyKey,
      'X-Webhook-Timestamp': String(Math.floor(now() / 1000)),
      'X-Signature-256': signWebhookBody(secret, body),
    };
    const authCredentials = tool.credentials?.type === 'bearer' ? undefined : tool.credentials;
    const auth = reported(ctx, await credentials.apply(tool, authCredentials, headers, url, ctx.signal));
    const res = await guardedFetch(deps.guard, url, {
      method: 'POST',
      headers,
      body,
      signal: ctx.signal,
      maxResponseBytes: config.maxResponseBytes ?? defaultMaxResponseBytes,
      sensitiveHeaders: auth.sensitiveHeaders,
    });
    if (res.status === 401) credentials.invalidate(tool, authCredentials);
    return toToolResult(res, tool.name, [secret, ...auth.secrets], now());
  };

  return { api, webhook };
}

/**
 * The `X-Signature-256` value for a webhook body: `sha256=` and the hex HMAC-SHA256 of exactly the bytes
 * sent (the GitHub convention), so receivers verify the raw body before parsing it.
 */
export function signWebhookBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Checks an `X-Signature-256` header against the raw body in constant time; for receivers and tests. */
export function verifyWebhookSignature(secret: string, body: string | Buffer, header: string | string[] | null | undefined): boolean {
  const match = typeof header === 'string' ? /^sha256=([0-9a-f]{64})$/i.exec(header.trim()) : null;
  if (!match?.[1]) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
}

/** A credentialed request goes only to an origin its credentials were sealed for (after templating). */
function checkDestination(tool: ResolvedTool, url: URL): void {
  const refusal = credentialRefusal(tool, url.origin);
  if (refusal) throw new ToolError('forbidden', `${tool.name}: ${refusal}`);
}

/** Hands what the credentials added (e.g. a fetched access token) to the caller's redaction. */
function reported(ctx: ToolCallContext, auth: AppliedAuth): AppliedAuth {
  for (const secret of auth.secrets) ctx.addSecret?.(secret);
  return auth;
}

function parseConfig<T extends z.ZodType>(schema: T, tool: ResolvedTool): z.infer<T> {
  const parsed = schema.safeParse(tool.config);
  if (!parsed.success) throw new ToolError('invalid_input', `${tool.name}: invalid config: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new ToolError('invalid_input', 'the tool URL is not a valid absolute URL');
  }
}

function setDefault(headers: Record<string, string>, name: string, value: string): void {
  if (!Object.keys(headers).some((key) => key.toLowerCase() === name.toLowerCase())) headers[name] = value;
}
