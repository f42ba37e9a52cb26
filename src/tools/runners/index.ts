import { createNetGuard, guardedFetch } from '../net-guard.js';
import type { ResolvedTool, ToolCredentials, ToolRunner } from '../types.js';
import { runDatabaseTool } from './database.js';
import { createHttpRunners } from './http.js';
import { runJavascriptTool } from './javascript.js';
import { createMcpRunner, listMcpTools, type McpRunnerDeps } from './mcp.js';

export type ToolRunners = Partial<Record<ResolvedTool['toolType'], ToolRunner>>;

/**
 * The worker's runners for every tool type (close database pools with `closeDatabasePools` on shutdown). Outbound HTTP (api, webhook, mcp) goes through one SSRF guard
 * that refuses loopback, private, link-local and metadata addresses unless `allowList` permits them.
 */
export function createToolRunners(options: { allowList: string[] }) {
  const guard = createNetGuard({ allow: options.allowList });
  const http = createHttpRunners({ guard });
  // The MCP transport brings its own HTTP client: check the server's address first and refuse
  // redirects, so it cannot be walked to an address the guard would refuse.
  const mcpDeps: McpRunnerDeps = {
    checkUrl: async (url) => void (await guard.resolve(url)),
    fetch: (input, init) => fetch(input, { ...init, redirect: 'error' }),
  };
  const runners: ToolRunners = {
    api: http.api,
    webhook: http.webhook,
    mcp: createMcpRunner(mcpDeps),
    javascript: runJavascriptTool,
    database: runDatabaseTool,
  };
  const listServerTools = (config: Record<string, unknown>, credentials: ToolCredentials | undefined, signal: AbortSignal) =>
    listMcpTools(config, credentials, { signal }, mcpDeps);
  /** Knowledge documents added by URL are fetched through the same guard as tool calls. */
  const fetchDocument = async (url: string, signal: AbortSignal) => {
    const res = await guardedFetch(guard, url, { signal, maxResponseBytes: 10 * 1024 * 1024, headers: { accept: 'text/html, text/markdown, text/plain' } });
    if (res.status >= 400) throw new Error(`fetching ${res.url} answered ${res.status}`);
    return { contentType: (res.headers.get('content-type') ?? 'text/plain').split(';')[0]!.trim(), text: res.body };
  };
  return { runners, listServerTools, fetchDocument };
}
