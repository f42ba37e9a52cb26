/**
 * The DBOS peer of the turn benchmark (issue 14): the baseline's turn (same store functions, same model
 * client) as a DBOS Transact workflow, durable on Postgres alone. Three checkpointed steps, as our workflow
 * has three activities: `startTurn` (turn row, user message, model request), `callModel`, `completeTurn`.
 * The HTTP handler hands out the turn index, starts the workflow under the business key
 * `dbos-turn:<conversation>:<n>` (a second start attaches to the first) and awaits its result in-process,
 * as an app built on DBOS would. DBOS keeps its system tables in a database of its own on the same Postgres
 * (`<bench db>_dbos`), created here and dropped at cleanup; the product's database only gets the turn's rows.
 * Bench-only: nothing in src/ imports it.
 */
import { DBOS } from '@dbos-inc/dbos-sdk';
import express from 'express';
import type { Config } from '../src/config';
import { createDb } from '../src/db/client';
import { ensureDatabase } from '../src/db/migrate';
import { buildModelRequest } from '../src/conversations/model-request';
import { beginTurn, completeTurn } from '../src/conversations/turn-store';
import { createLlmClient, type ChatRequest } from '../src/llm/client';
import { acceptTurn } from './baseline-app';
import { dropDatabase, listen, progress, type Cleanup } from './env';

interface PeerTurn {
  projectId: string;
  agentId: string;
  conversationId: string;
  turnIndex: number;
  content: string;
  startedAtMs: number;
}

export type DbosPeer = { url: string; systemDatabase: string } | { unavailable: string };

/**
 * Starts the peer, or says why it cannot run (then the benchmark prints that instead of the DBOS rows).
 * DBOS is a process-wide singleton: one peer per process.
 */
export async function startDbosPeer(cleanup: Cleanup, config: Config, dbName: string): Promise<DbosPeer> {
  const systemDatabase = `${dbName}_dbos`;
  const sysUrl = new URL(config.DATABASE_URL);
  sysUrl.pathname = `/${systemDatabase}`;
  try {
    cleanup.push(['DBOS system database', () => dropDatabase(systemDatabase)]);
    await ensureDatabase(sysUrl.toString());
    const db = createDb(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, appName: 'bench-dbos' });
    cleanup.push(['bench-dbos pool', () => db.close()]);
    const llm = createLlmClient({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL, timeoutMs: config.LLM_TIMEOUT_MS });

    const startTurn = (t: PeerTurn, workflowId: string) => DBOS.runStep(async () => {
      await beginTurn(db.db, { ...t, workflowId, runId: workflowId });
      const plan = await buildModelRequest(db.db, t, config.OPENAI_MODEL);
      if (!plan) throw new Error('agent not found');
      return plan.request;
    }, { name: 'startTurn' });
    const callModel = (request: ChatRequest) => DBOS.runStep(async () => {
      const started = Date.now();
      return { ...(await llm.chat(request)), llmTimeMs: Date.now() - started };
    }, { name: 'callModel', retriesAllowed: true, maxAttempts: 3, intervalSeconds: 1 });
    const finish = (t: PeerTurn, answer: Awaited<ReturnType<typeof callModel>>) => DBOS.runStep(() => completeTurn(db.db, {
      conversationId: t.conversationId,
      turnIndex: t.turnIndex,
      response: answer.content,
      model: answer.model,
      usage: answer.usage,
      llmTimeMs: answer.llmTimeMs,
      responseTimeMs: Math.max(0, Date.now() - t.startedAtMs),
    }), { name: 'completeTurn' });
    const runPeerTurn = DBOS.registerWorkflow(async (t: PeerTurn) => {
      const request = await startTurn(t, DBOS.workflowID ?? '');
      const answer = await callModel(request);
      const { assistantMessageId } = await finish(t, answer);
      return { assistantMessageId, content: answer.content };
    }, { name: 'runPeerTurn' });

    DBOS.setConfig({
      name: 'sao-bench-peer',
      systemDatabaseUrl: sysUrl.toString(),
      systemDatabasePoolSize: config.DATABASE_POOL_MAX,
      logger: { info: () => {}, debug: () => {}, warn: (e) => progress(`DBOS: ${String(e)}`), error: (e) => progress(`DBOS error: ${String(e)}`) },
    });
    // Registered first: a launch that fails half-way still gets its pools and timers shut down.
    cleanup.push(['DBOS', () => DBOS.shutdown({ deregister: true })]);
    await DBOS.launch();

    const app = express();
    app.use(express.json({ limit: '1mb' }));
    app.post('/dbos/conversations/:id/messages', async (req, res) => {
      const turn = await acceptTurn(db.db, req, res);
      if (!turn) return;
      const workflowID = `dbos-turn:${turn.conversationId}:${turn.turnIndex}`;
      try {
        const handle = await DBOS.startWorkflow(runPeerTurn, { workflowID })(turn);
        const result = await handle.getResult();
        res.json({ turn: { index: turn.turnIndex, status: 'completed' }, message: { id: result.assistantMessageId, role: 'assistant', content: result.content } });
      } catch (err) {
        res.status(502).json({ error: { code: 'turn_failed', message: err instanceof Error ? err.message : String(err) } });
      }
    });
    const server = await listen(app);
    cleanup.push(['DBOS peer app', () => server.close()]);
    return { url: server.url, systemDatabase };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    progress(`DBOS peer unavailable: ${reason}`);
    return { unavailable: reason };
  }
}
