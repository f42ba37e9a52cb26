import { createNetGuard } from '../../net/net-guard.js';
import { guardedFetch } from '../outbound.js';
import type { ResolvedTool, ToolCredentials, ToolRunner } from '../types.js';
import { createDatabaseRunner } from './database.js';
import { createHttpRunners } from './http.js';
import { runJavascriptTool } from './javascript.js';
import { createMcpRunner, listMcpTools, type McpRunnerDeps } from './mcp.js';

export type ToolRunners = Partial<Record<ResolvedTool['toolType'], ToolRunner>>;

/**
 * The worker's runners for every tool type (close database connections with `closeDatabasePools` on shutdown).
 * Every outbound connection (api, webhook, mcp, database, document URLs) goes through one guard that refuses
 * loopback, private, link-local and metadata addresses unless `allowList` permits them; the product's own
 * database (`ownDatabaseUrl`) is never a database tool's target, and without it there is no database runner.
 */
export function createToolRunners(options: { allowList: string[]; ownDatabaseUrl?: string }) {
  const guard = createNetGuard({ allow: options.allowList });
  const http = createHttpRunners({ guard });
  const mcpDeps: McpRunnerDeps = { guard };
  const runners: ToolRunners = {
    api: http.api,
    webhook: http.webhook,
    mcp: createMcpRunner(mcpDeps),
    javascript: runJavascriptTool,
  };
  if (options.ownDatabaseUrl) runners.database = createDatabaseRunner({ guard, ownDatabaseUrl: options.ownDatabaseUrl });
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
