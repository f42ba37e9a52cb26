import express, { type Express, type Request, type Response } from 'express';
import { and, eq, sql } from 'drizzle-orm';
import type { Config } from '../src/config';
import { createDb, type Db } from '../src/db/client';
import { conversation } from '../src/db/schema/index';
import { createLlmClient, type LlmClient } from '../src/llm/client';
import { buildModelRequest } from '../src/conversations/model-request';
import { beginTurn, completeTurn, failTurn } from '../src/conversations/turn-store';
import { listen, type Cleanup } from './env';

/**
 * Hands out the next turn index of an active conversation in one atomic statement (the gateway does the same
 * under a row lock); null when the conversation is missing or not active. Shared with the DBOS peer.
 */
async function nextTurn(db: Db, conversationId: string) {
  const [conv] = await db
    .update(conversation)
    .set({ lastTurnIndex: sql`${conversation.lastTurnIndex} + 1`, lastActivityAt: new Date() })
    .where(and(eq(conversation.id, conversationId), eq(conversation.status, 'active')))
    .returning({ projectId: conversation.projectId, agentId: conversation.agentId, turnIndex: conversation.lastTurnIndex });
  return conv ?? null;
}

/**
 * The start of a bench turn request: checks the body and hands out the turn index, answering 400 / 404 itself
 * (then null). Shared by the baseline and the DBOS peer so both begin a turn exactly alike.
 */
export async function acceptTurn(db: Db, req: Request, res: Response) {
  const startedAtMs = Date.now();
  const conversationId = String(req.params.id);
  const content: unknown = req.body?.content;
  if (typeof content !== 'string' || content.length === 0) {
    res.status(400).json({ error: { code: 'validation_failed', message: 'content is required' } });
    return null;
  }
  const conv = await nextTurn(db, conversationId);
  if (!conv) {
    res.status(404).json({ error: { code: 'not_found', message: 'conversation not found or not active' } });
    return null;
  }
  return { ...conv, conversationId, content, startedAtMs };
}

/**
 * The comparison point for the turn benchmark: the same turn (record the user message, load agent and
 * history, call the model, record the answer) done inside one HTTP request, with no Temporal and no
 * retries. It calls the very store functions the activities call, so the difference the benchmark shows
 * is what the workflow, the task queue and the gateway's extra reads cost. No auth and no request
 * logging: the durable gateway pays for both, which the benchmark output says.
 */
export function createBaselineApp(deps: { db: Db; llm: LlmClient; defaultModel: string }): Express {
  const { db, llm, defaultModel } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));

  app.post('/baseline/conversations/:id/messages', async (req, res) => {
    const conv = await acceptTurn(db, req, res);
    if (!conv) return;
    const { conversationId, content, turnIndex, startedAtMs } = conv;
    // The turn row wants a workflow id and run id; a marker makes baseline rows easy to tell apart.
    const marker = `baseline:${conversationId}:${turnIndex}`;
    await beginTurn(db, { ...conv, conversationId, content, workflowId: marker, runId: marker });

    // The same prompt assembly as the `startTurn` activity.
    const plan = await buildModelRequest(db, { agentId: conv.agentId, conversationId, turnIndex, content }, defaultModel);
    if (!plan) {
      res.status(404).json({ error: { code: 'not_found', message: 'agent not found' } });
      return;
    }

    // With Accept: text/event-stream the answer streams straight through as SSE deltas: no log, no Temporal.
    const sse = req.accepts(['application/json', 'text/event-stream']) === 'text/event-stream';
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (sse) res.status(200).set({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).flushHeaders();
    const llmStartedAtMs = Date.now();
    let answer: Awaited<ReturnType<LlmClient['chat']>>;
    try {
      answer = await llm.chat(plan.request, undefined, sse ? (text) => send('message.delta', { text }) : undefined);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await failTurn(db, { conversationId, turnIndex, error: reason, responseTimeMs: Date.now() - startedAtMs });
      if (!sse) res.status(502).json({ error: { code: 'turn_failed', message: reason } });
      else res.end(`event: turn.failed\ndata: ${JSON.stringify({ reason })}\n\n`);
      return;
    }
    const llmTimeMs = Date.now() - llmStartedAtMs;

    const responseTimeMs = Date.now() - startedAtMs;
    const { assistantMessageId } = await completeTurn(db, {
      conversationId,
      turnIndex,
      response: answer.content,
      model: answer.model,
      usage: answer.usage,
      responseTimeMs,
      llmTimeMs,
    });
    if (sse) {
      send('turn.completed', { answer: answer.content, usage: answer.usage });
      res.end();
      return;
    }
    res.json({
      turn: { index: turnIndex, status: 'completed', responseTimeMs, llmTimeMs },
      message: { id: assistantMessageId, turnIndex, role: 'assistant', content: answer.content },
    });
  });

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'no such route' } });
  });
  return app;
}

/** The baseline listening on a free port, with a pool of its own (as the gateway and the worker have theirs). */
export async function startBaseline(cleanup: Cleanup, config: Config): Promise<{ url: string }> {
  const db = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, appName: 'bench-baseline' });
  cleanup.push(['bench-baseline pool', () => db.close()]);
  const llm = createLlmClient({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, timeoutMs: config.LLM_TIMEOUT_MS });
  const baseline = await listen(createBaselineApp({ db: db.db, llm, defaultModel: config.OPENAI_MODEL }));
  cleanup.push(['baseline app', () => baseline.close()]);
  return baseline;
}
