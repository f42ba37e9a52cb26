import type { Request, Response } from 'express';
import { SseWriter } from '../conversations/sse.js';
import type { GatewayDeps } from '../deps.js';
import { GatewayClosingError, type FollowedTurn } from './turn-follow.js';
import { waitSignal } from './turn-request.js';

/**
 * What every OpenAI-style stream of a turn shares: the SSE headers at once, keep-alive comments, a signal
 * that fires when the client leaves, and on a write failure (a client too slow to read) a logged, destroyed
 * response. `body` writes the events.
 */
export async function runTurnStream(
  deps: GatewayDeps,
  req: Request,
  res: Response,
  t: FollowedTurn,
  body: (writer: SseWriter, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const writer = new SseWriter(res, deps.streams.timings.drainTimeoutMs);
  writer.start();
  const heartbeat = setInterval(() => writer.comment('keep-alive'), deps.streams.timings.heartbeatMs);
  const wait = waitSignal(req, 24 * 3600_000);
  try {
    await body(writer, wait.signal);
  } catch (err) {
    if (err instanceof GatewayClosingError) {
      // A clean end the SDK raises as an APIError: the turn goes on, the client fetches its answer elsewhere.
      await writer.event(0, 'error', { error: { message: err.message, type: 'server_error', code: 'gateway_shutting_down', param: null } }).catch(() => {});
      return;
    }
    deps.logger.warn({ err, conversationId: t.conversationId, turnIndex: t.turnIndex, path: req.path }, 'OpenAI-style stream ended early');
    res.destroy();
  } finally {
    clearInterval(heartbeat);
    wait.done();
    writer.end();
  }
}
