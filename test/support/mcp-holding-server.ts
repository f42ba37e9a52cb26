import type { AddressInfo } from 'node:net';
import { startMcpServer } from './mcp-server.js';

/** A server whose `hold` tool runs until its caller gives up, and says what it saw. */
export interface HoldingMcpServer {
  url: string;
  /** Resolves when a `hold` call has reached the tool. */
  started: Promise<void>;
  /** Resolves true when the server cancelled that call (the client closed the request or sent notifications/cancelled). */
  cancelled: Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The test MCP server plus a tool, `hold`, that never answers: a client can only get past it by abandoning
 * the call. Tests of aborts and timeouts assert on what the server saw instead of on how long the client took.
 */
export async function startHoldingMcpServer(token: string): Promise<HoldingMcpServer> {
  let markStarted!: () => void;
  let markCancelled!: (value: boolean) => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const cancelled = new Promise<boolean>((resolve) => (markCancelled = resolve));
  const server = await startMcpServer(token, (mcp) =>
    mcp.registerTool('hold', { description: 'Runs until cancelled' }, (extra) =>
      new Promise((_resolve, reject) => {
        // The SDK aborts a handler's signal on notifications/cancelled and when its transport closes.
        extra.signal.addEventListener('abort', () => (markCancelled(true), reject(new Error('cancelled'))), { once: true });
        markStarted();
      }),
    ),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    started,
    cancelled,
    async close() {
      markCancelled(false); // a call that was never cancelled reads false, never hangs the test
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
