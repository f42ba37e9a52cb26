import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMcpRunner, listMcpTools } from '../../src/tools/runners/mcp.js';
import { startMcpServer } from '../support/mcp-server.js';
import { ToolError, type ResolvedTool, type ToolCallContext } from '../../src/tools/types.js';

const TOKEN = 'secret-token';

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = await startMcpServer(TOKEN);
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
  const run = createMcpRunner();

  it('lists the server tools with their input schemas', async () => {
    const tools = await listMcpTools({ url: `${baseUrl}/mcp` }, { type: 'bearer', token: TOKEN }, { signal: AbortSignal.timeout(5_000) });
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

  it('maps an aborted attempt to timeout', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await toolError(run(mcpTool({ url: `${baseUrl}/mcp`, tool: 'slow' }), {}, ctx(controller.signal)));
    expect(err.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('rejects a config without a tool name or a valid URL as invalid_input', async () => {
    expect((await toolError(run(mcpTool({ url: `${baseUrl}/mcp` }), {}, ctx()))).kind).toBe('invalid_input');
    expect((await toolError(run(mcpTool({ url: 'file:///etc/passwd', tool: 'add' }), {}, ctx()))).kind).toBe('invalid_input');
  });

  it('asks checkUrl before connecting and sends every request through the injected fetch', async () => {
    const seen: string[] = [];
    const guarded = createMcpRunner({
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
      checkUrl: async (url) => {
        if (url.pathname === '/blocked') throw new ToolError('forbidden', 'blocked by policy');
      },
    });
    const result = await guarded(mcpTool({ url: `${baseUrl}/mcp`, tool: 'add' }), { a: 4, b: 4 }, ctx());
    expect(result).toMatchObject({ text: '8' });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((u) => u === `${baseUrl}/mcp`)).toBe(true);

    seen.length = 0;
    const err = await toolError(guarded(mcpTool({ url: `${baseUrl}/blocked`, tool: 'add' }), { a: 1, b: 1 }, ctx()));
    expect(err.kind).toBe('forbidden');
    expect(seen).toEqual([]);
  });
});
