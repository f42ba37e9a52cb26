/**
 * Model Context Protocol runner over streamable HTTP.
 *
 * Argument convention: one registered MCP tool stands either for a single server tool (`config.tool`) or
 * for all of a server's tools, which the caller lists with `listMcpTools` and exposes to the model under
 * prefixed names. In the second case the caller puts the server's own tool name in `args.__tool`; it wins
 * over `config.tool` and is stripped before the call, so the server sees only its tool's arguments.
 */
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { NetGuard } from '../../net/net-guard.js';
import { createPinnedFetch } from '../outbound.js';
import { ToolError, type ToolCredentials, type ToolErrorKind, type ToolRunner } from '../types.js';

const mcpConfigSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.string()).optional(),
  tool: z.string().min(1).optional(),
});

/** Config of an MCP tool: the server's streamable HTTP endpoint, extra headers, and an optional fixed tool. */
export type McpConfig = z.infer<typeof mcpConfigSchema>;

/** What the worker injects. */
export interface McpRunnerDeps {
  /**
   * The address policy every request of the transport passes: each is resolved and checked, connected to
   * the checked address, and never redirected (see {@link createPinnedFetch}).
   */
  guard: NetGuard;
}

/** One tool a server offers, in the shape the agent's tool list needs (the caller adds its name prefix). */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** The runner's result: text parts joined for the model, plus the server's structured output if any. */
export interface McpCallResult {
  text: string;
  structuredContent?: Record<string, unknown>;
}

// A server that keeps handing out cursors must not keep an attempt busy forever.
const MAX_LIST_PAGES = 50;
const MAX_MESSAGE_CHARS = 500;

/** Lists a server's tools (following pagination) so one registered MCP tool can expose all of them. */
export async function listMcpTools(
  config: Record<string, unknown>,
  credentials: ToolCredentials | undefined,
  { signal }: { signal: AbortSignal },
  deps: McpRunnerDeps,
): Promise<McpToolInfo[]> {
  return withClient(parseConfig(config), credentials, signal, deps, async (client) => {
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await client.listTools(cursor ? { cursor } : undefined, { signal });
      for (const t of result.tools) tools.push({ name: t.name, description: t.description, inputSchema: t.inputSchema });
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    return tools;
  });
}

/** Builds the `mcp` runner: one `tools/call` of `args.__tool ?? config.tool` per attempt. */
export function createMcpRunner(deps: McpRunnerDeps): ToolRunner {
  return async (tool, args, ctx) => {
    const config = parseConfig(tool.config);
    const { __tool, ...toolArgs } = args;
    const name = typeof __tool === 'string' && __tool !== '' ? __tool : config.tool;
    if (!name) throw new ToolError('invalid_input', 'no MCP tool named: set config.tool or pass __tool');
    const result = await withClient(config, tool.credentials, ctx.signal, deps, (client) =>
      // The SDK's own 60 s request timeout would cut tools configured to run longer.
      client.callTool({ name, arguments: toolArgs }, undefined, { signal: ctx.signal, timeout: tool.timeoutMs }),
    );
    // The SDK's return type also covers the pre-2025 `{ toolResult }` shape, which only its compatibility
    // schema produces; the default schema we use guarantees `content`.
    return toCallResult(result as CallToolResult);
  };
}

function parseConfig(raw: Record<string, unknown>): McpConfig {
  const parsed = mcpConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ToolError('invalid_input', `invalid MCP tool config: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * Connects, runs `use`, and always closes. A connection per call keeps the runner stateless across
 * retries and workers; a pooled session per server is a later optimisation.
 */
async function withClient<T>(
  config: McpConfig,
  credentials: ToolCredentials | undefined,
  signal: AbortSignal,
  deps: McpRunnerDeps,
  use: (client: Client) => Promise<T>,
): Promise<T> {
  const url = new URL(config.url);
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { ...config.headers, ...authHeaders(credentials) } },
    fetch: createPinnedFetch(deps.guard),
  });
  const client = new Client({ name: 'smart-agents-orchestrator', version: '0.1.0' });
  try {
    await client.connect(transport, { signal });
    return await use(client);
  } catch (err) {
    throw toToolError(err, signal);
  } finally {
    // Stateful servers keep a session per initialize; end ours so they don't pile up. Skipped once the
    // attempt is aborted, since it has no time left to spend on courtesy.
    if (!signal.aborted) await transport.terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}

function authHeaders(credentials: ToolCredentials | undefined): Record<string, string> {
  if (!credentials) return {};
  switch (credentials.type) {
    case 'bearer':
      return { Authorization: `Bearer ${credentials.token}` };
    case 'basic':
      return { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` };
    case 'api_key':
      if (credentials.in !== 'query') return { [credentials.name ?? 'X-API-Key']: credentials.value };
      throw new ToolError('invalid_input', 'MCP tools take API keys in a header only');
    default:
      throw new ToolError('invalid_input', `MCP tools do not support ${credentials.type} credentials`);
  }
}

function toCallResult(result: CallToolResult): McpCallResult {
  // Non-text parts (images, audio, blobs) are dropped: the result goes to the model as text and into
  // workflow history, which must stay small.
  const text = result.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
  if (result.isError) throw new ToolError('client_error', text || 'the MCP tool reported an error');
  return result.structuredContent === undefined ? { text } : { text, structuredContent: result.structuredContent };
}

function toToolError(err: unknown, signal: AbortSignal): ToolError {
  if (err instanceof ToolError) return err;
  const message = (err instanceof Error ? err.message : String(err)).slice(0, MAX_MESSAGE_CHARS);
  // Checked first: an abort surfaces as whatever the SDK or fetch happened to be doing at the time.
  if (signal.aborted) return new ToolError('timeout', `MCP call aborted: ${message}`);
  if (err instanceof StreamableHTTPError) return new ToolError(httpKind(err.code), message, { status: err.code });
  if (err instanceof McpError) return new ToolError(rpcKind(err.code), message);
  return new ToolError('network', `MCP server unreachable: ${message}`);
}

function httpKind(status: number | undefined): ToolErrorKind {
  if (status === 429) return 'rate_limited';
  if (status !== undefined && status >= 300 && status < 500) return 'client_error'; // incl. refused redirects
  return 'server_error'; // 5xx, or -1 for a response that is not MCP at all
}

function rpcKind(code: number): ToolErrorKind {
  switch (code) {
    case ErrorCode.RequestTimeout:
      return 'timeout';
    case ErrorCode.ConnectionClosed:
      return 'network';
    case ErrorCode.InvalidParams: // unknown tool or arguments its schema rejects: the model's mistake
      return 'invalid_input';
    case ErrorCode.InternalError:
      return 'server_error';
    default:
      return 'client_error';
  }
}
