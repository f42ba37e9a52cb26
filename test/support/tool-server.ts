import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A real local HTTP server standing in for the APIs tools call. Each route decides its answer from how
 * often it was called; every request is recorded for assertions.
 */
export class ToolServer {
  readonly seen: SeenRequest[] = [];
  private readonly counts = new Map<string, number>();
  private server?: Server;

  constructor(private readonly routes: Record<string, (n: number, req: SeenRequest) => { status: number; body?: unknown; headers?: Record<string, string> } | 'hang'>) {}

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  calls(path: string): SeenRequest[] {
    return this.seen.filter((r) => r.path === path);
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const seen = { path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.seen.push(seen);
      const n = (this.counts.get(path) ?? 0) + 1;
      this.counts.set(path, n);
      const route = this.routes[path];
      const answer = route ? route(n, seen) : { status: 404 };
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {}));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
