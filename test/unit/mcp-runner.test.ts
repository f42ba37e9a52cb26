import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetGuard } from '../../src/net/net-guard.js';
import { createMcpRunner, listMcpTools } from '../../src/tools/runners/mcp.js';
import { startHoldingMcpServer } from '../support/mcp-holding-server.js';
import { startMcpServer } from '../support/mcp-server.js';
import { retryableKinds, ToolError, type ResolvedTool, type ToolCallContext } from '../../src/tools/types.js';

const TOKEN = 'secret-token';

let server: Server;
let baseUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  server = await startMcpServer(TOKEN);
  server.on('request', (req: http.IncomingMessage) => requests.push(req.url ?? ''));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function mcpTool(config: Record<string, unknown>, token = TOKEN): ResolvedTool {
  return { id: 't1', name: 'calc', toolType: 'mcp', config, credentials: { type: 'bearer', token }, timeoutMs: 5_000 };
}

function ctx(signal: AbortSignal = new AbortController().signal): ToolCallContext {
  return { signal, idempotencyKey: 'turn-1:call-1', attempt: 1 };
}

async function toolError(promise: Promise<unknown>): Promise<ToolError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ToolError);
  return err as ToolError;
}

describe('MCP runner', () => {
  const local = { guard: createNetGuard({ allow: ['127.0.0.1'] }) };
  const run = createMcpRunner(local);

  it('lists the server tools with their input schemas', async () => {
    const tools = await listMcpTools({ url: `${baseUrl}/mcp` }, { type: 'bearer', token: TOKEN }, { signal: AbortSignal.timeout(5_000) }, local);
    expect(tools.map((t) => t.name)).toEqual(['add', 'fail', 'slow']);
    expect(tools[0]).toMatchObject({ description: 'Adds two numbers', inputSchema: { type: 'object', required: ['a', 'b'] } });
  });

  it('calls config.tool and returns text and structured content', async () => {
    const result = await run(mcpTool({ url: `${baseUrl}/mcp`, tool: 'add' }), { a: 2, b: 3 }, ctx());
    expect(result).toEqual({ text: '5', structuredContent: { sum: 5 } });
  });

  it('lets args.__tool pick the server tool and strips it from the arguments', async () => {
    const result = await run(mcpTool({ url: `${baseUrl}/mcp` }), { __tool: 'add', a: 1, b: 1 }, ctx());
    expect(result).toEqual({ text: '2', structuredContent: { sum: 2 } });
  });

  it('maps a tool result with isError to client_error', async () => {
    const err = await toolError(run(mcpTool({ url: `${baseUrl}/mcp`, tool: 'fail' }), {}, ctx()));
    expect(err).toMatchObject({ kind: 'client_error', message: 'it broke' });
  });

  it('maps a rejected token to client_error with the status', async () => {
    const err = await toolError(run(mcpTool({ url: `${baseUrl}/mcp`, tool: 'add' }, 'wrong'), { a: 1, b: 2 }, ctx()));
    expect(err).toMatchObject({ kind: 'client_error', details: { status: 401 } });
  });

  it('maps a 5xx to server_error', async () => {
    const err = await toolError(run(mcpTool({ url: `${baseUrl}/broken`, tool: 'add' }), { a: 1, b: 2 }, ctx()));
    expect(err).toMatchObject({ kind: 'server_error', details: { status: 500 } });
  });

  it('maps a server that is down to network', async () => {
    const closed = await startMcpServer(TOKEN);
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await toolError(run(mcpTool({ url: `http://127.0.0.1:${port}/mcp`, tool: 'add' }), { a: 1, b: 2 }, ctx()));
    expect(err.kind).toBe('network');
  });

  it('maps an aborted attempt to timeout, and gives up the call the server is still running', async () => {
    // The server's `hold` tool never answers, and the tool's own timeout (the SDK's request timeout) is
    // far beyond this test's: only the abort can end the call. Without it, this test times out.
    const held = await startHoldingMcpServer(TOKEN);
    try {
      const controller = new AbortController();
      held.started.then(() => controller.abort(), () => undefined);
      const holding = { ...mcpTool({ url: `${held.url}/mcp`, tool: 'hold' }), timeoutMs: 600_000 };
      const err = await toolError(run(holding, {}, ctx(controller.signal)));
      expect(err.kind).toBe('timeout');
      expect(err.message).toMatch(/^MCP call aborted/);
      // The abort reached the server: the tool's request was cancelled, not left running with nobody waiting.
      expect(await held.cancelled).toBe(true);
    } finally {
      await held.close();
    }
  }, 15_000);

  it('rejects a config without a tool name or a valid URL as invalid_input', async () => {
    expect((await toolError(run(mcpTool({ url: `${baseUrl}/mcp` }), {}, ctx()))).kind).toBe('invalid_input');
    expect((await toolError(run(mcpTool({ url: 'file:///etc/passwd', tool: 'add' }), {}, ctx()))).kind).toBe('invalid_input');
  });

  it('connects to the address the guard checked, not to what a second DNS lookup says', async () => {
    // The guard is told `localhost` is 127.0.0.2 (allow-listed); the system resolver says 127.0.0.1, where
    // the server listens and which is not allow-listed. A client that resolves again reaches the server.
    const port = (server.address() as AddressInfo).port;
    const before = requests.length;
    const guard = createNetGuard({ allow: ['127.0.0.2'], resolve: async () => [{ address: '127.0.0.2', family: 4 }] });
    const rebound = createMcpRunner({ guard });
    const err = await toolError(rebound(mcpTool({ url: `http://localhost:${port}/mcp`, tool: 'add' }), { a: 1, b: 1 }, ctx()));
    expect(err.kind).toBe('network');
    expect(requests.length).toBe(before);
  });

  it('refuses a server the guard refuses, before any request', async () => {
    const before = requests.length;
    const strict = createMcpRunner({ guard: createNetGuard({ allow: [] }) });
    const err = await toolError(strict(mcpTool({ url: `${baseUrl}/mcp`, tool: 'add' }), { a: 1, b: 1 }, ctx()));
    expect(err.kind).toBe('forbidden');
    expect(requests.length).toBe(before);
  });

  it('does not follow a redirect, so it cannot be walked to an address the guard would refuse', async () => {
    const target = await startMcpServer(TOKEN);
    const targetPort = (target.address() as AddressInfo).port;
    let reached = 0;
    target.on('request', () => reached++);
    const redirector = http.createServer((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${targetPort}/mcp` }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const port = (redirector.address() as AddressInfo).port;
      const onlyRedirector = createMcpRunner({ guard: createNetGuard({ allow: [`127.0.0.1:${port}`] }) });
      const err = await toolError(onlyRedirector(mcpTool({ url: `http://127.0.0.1:${port}/mcp`, tool: 'add' }), { a: 1, b: 1 }, ctx()));
      expect(retryableKinds.has(err.kind)).toBe(false);
      expect(reached).toBe(0);
    } finally {
      redirector.closeAllConnections();
      target.closeAllConnections();
      await Promise.all([redirector, target].map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
