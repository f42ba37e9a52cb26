import { createNetGuard } from '../net-guard.js';
import type { ResolvedTool, ToolRunner } from '../types.js';
import { createHttpRunners } from './http.js';
import { createMcpRunner } from './mcp.js';

export type ToolRunners = Partial<Record<ResolvedTool['toolType'], ToolRunner>>;

/**
 * The worker's runners for every tool type. Outbound HTTP (api, webhook, mcp) goes through one SSRF guard
 * that refuses loopback, private, link-local and metadata addresses unless `allowList` permits them.
 */
export function createToolRunners(options: { allowList: string[] }): ToolRunners {
  const guard = createNetGuard({ allow: options.allowList });
  const http = createHttpRunners({ guard });
  return {
    api: http.api,
    webhook: http.webhook,
    // The MCP transport brings its own HTTP client: check the server's address first and refuse
    // redirects, so it cannot be walked to an address the guard would refuse.
    mcp: createMcpRunner({
      checkUrl: async (url) => void (await guard.resolve(url)),
      fetch: (input, init) => fetch(input, { ...init, redirect: 'error' }),
    }),
  };
}
