import { createServer, type Server } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A real MCP server built with the SDK: `add`, `fail` (isError) and `slow`, behind a bearer token. */
export function buildMcpServer(): McpServer {
  const mcp = new McpServer({ name: 'test-server', version: '1.0.0' });
  mcp.registerTool(
    'add',
    { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  mcp.registerTool('fail', { description: 'Always fails' }, async () => ({
    content: [{ type: 'text', text: 'it broke' }],
    isError: true,
  }));
  mcp.registerTool('slow', { description: 'Takes a while' }, async () => {
    await new Promise((resolve) => setTimeout(resolve, 2_000).unref());
    return { content: [{ type: 'text', text: 'done' }] };
  });
  return mcp;
}

/**
 * Stateless mode: a fresh server and transport per POST, as the SDK's stateless examples do. `extend`
 * registers a test's own tools next to the standard ones.
 */
export function startMcpServer(TOKEN: string, extend?: (mcp: McpServer) => void): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/broken') return void res.writeHead(500).end('boom');
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end('{"error":"unauthorized"}');
    // No standalone SSE stream or sessions to end in stateless mode.
    if (req.method !== 'POST') return void res.writeHead(405).end();
    const mcp = buildMcpServer();
    extend?.(mcp);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void mcp.close());
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => res.headersSent || res.writeHead(500).end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

