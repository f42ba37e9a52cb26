import { once } from 'node:events';
import type { Response } from 'express';

/** Thrown when a client reads so slowly that its buffered events stayed unsent past the bound. */
export class SlowClientError extends Error {}

/**
 * Writes Server-Sent Events to one response: one `id:`/`event:`/`data:` block per event (JSON has no raw
 * newline, so `data:` is one line) and comment lines that keep proxies from closing an idle stream. A full
 * socket buffer is waited out (up to `drainTimeoutMs`), so a slow reader holds at most one batch in memory.
 */
export class SseWriter {
  constructor(
    private readonly res: Response,
    private readonly drainTimeoutMs: number,
  ) {}

  /** Sends the status and headers at once, so the client sees the stream open before the first event. */
  start(): void {
    this.res.status(200);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache');
    this.res.setHeader('X-Accel-Buffering', 'no');
    this.res.setHeader('Connection', 'keep-alive');
    this.res.flushHeaders();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  async event(id: number, event: string, data: unknown): Promise<void> {
    if (this.closed) return;
    if (!this.res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) await this.drained();
  }

  /** A comment line; skipped while the buffer is full (the pending events keep the connection busy anyway). */
  comment(text: string): void {
    if (!this.closed && !this.res.writableNeedDrain) this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (!this.closed) this.res.end();
  }

  private async drained(): Promise<void> {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), this.drainTimeoutMs);
    const waits = [once(this.res, 'drain', { signal: stop.signal }), once(this.res, 'close', { signal: stop.signal })];
    for (const w of waits) w.catch(() => {}); // the loser rejects when `stop` aborts below
    try {
      await Promise.race(waits);
    } catch {
      throw new SlowClientError(`the client read nothing for ${this.drainTimeoutMs} ms`);
    } finally {
      clearTimeout(timer);
      stop.abort();
    }
  }
}
