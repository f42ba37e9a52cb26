import type { Db } from '../db/client.js';
import { findToolsByIds } from './store.js';
import type { TurnTool } from './turn-tools.js';
import { openBoundCredentials } from './bound-credentials.js';
import type { CredentialKeyring } from './credentials.js';
import { redactSecrets } from './redact-secrets.js';
import type { listMcpTools } from './runners/mcp.js';
import type { ToolCredentials } from './types.js';

type ListTools = (config: Record<string, unknown>, credentials: ToolCredentials | undefined, signal: AbortSignal) => ReturnType<typeof listMcpTools>;

/** Function names stay inside what the OpenAI tools format accepts. */
const functionName = (server: string, name: string) => `${server}__${name.replace(/[^a-zA-Z0-9_-]/g, '_')}`.slice(0, 64);

/**
 * Replaces each MCP tool that stands for a whole server (marked with an empty `mcpTool`) by the tools that
 * server lists, named `<registered name>__<server tool name>`. A server that cannot be listed is left out
 * of this turn (and reported through `onError`) rather than failing the turn.
 */
export async function expandMcpTools(
  deps: { db: Db; keyring: CredentialKeyring | null; list: ListTools; onError: (toolName: string, err: unknown) => void },
  tools: TurnTool[],
  timeoutMs = 5_000,
): Promise<TurnTool[]> {
  const servers = tools.filter((t) => t.mcpTool === '');
  if (servers.length === 0) return tools;
  const rows = await findToolsByIds(deps.db, servers.map((t) => t.toolId));
  const expanded = await Promise.all(
    servers.map(async (server) => {
      const row = rows.find((r) => r.id === server.toolId);
      if (!row) return [];
      try {
        // Without a key the server is listed unauthenticated, as before; the listing reaches the prompt, so it is redacted like results.
        const bound = row.credentialsEncrypted && !deps.keyring ? { secrets: [] } : openBoundCredentials(deps.keyring, row, row.config);
        const listed = redactSecrets(await deps.list(row.config, bound.credentials, AbortSignal.timeout(timeoutMs)), bound.secrets);
        return listed.map((m): TurnTool => ({
          ...server,
          name: functionName(server.name, m.name),
          description: m.description ?? m.name,
          parameters: (m.inputSchema as Record<string, unknown>) ?? { type: 'object' },
          mcpTool: m.name,
        }));
      } catch (err) {
        deps.onError(server.name, err);
        return [];
      }
    }),
  );
  return [...tools.filter((t) => t.mcpTool !== ''), ...expanded.flat()];
}
