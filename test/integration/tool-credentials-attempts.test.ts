import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentToolAssignment, smartAgent, tool, toolExecutionLog } from '../../src/db/schema';
import { sealBoundCredentials } from '../../src/tools/credential-binding';
import { parseKeyring } from '../../src/tools/credentials';
import { executeToolCall, type ToolCallParams, type ToolExecutionDeps } from '../../src/tools/execute';
import { createToolRunners } from '../../src/tools/runners';
import { testConfig, testDb, testProject } from '../support/stack';
import { ToolServer } from '../support/tool-server';

// The first call hangs, as a call does whose worker is killed; later calls answer.
const server = new ToolServer({ '/slow': (n) => (n === 1 ? 'hang' : { status: 200, body: { answer: 42 } }), '/ok': () => ({ status: 200, body: {} }) });
const config = testConfig();
const db = testDb(config);
let deps: ToolExecutionDeps;

beforeAll(async () => {
  await server.start();
  deps = { db: db.db, runners: createToolRunners({ allowList: [`127.0.0.1:${server.port}`] }).runners, keyring: null };
});
afterAll(async () => {
  await server.stop();
  await db.close();
});

/** A project with an agent and a rate-limited assignment of an api tool at `path` (rate limits write a `running` row first). */
async function rateLimitedTool(path: string) {
  const { projectId } = await testProject(db);
  const [agent] = await db.db.insert(smartAgent).values({ projectId, name: 'a', goal: 'g' }).returning();
  const [t] = await db.db.insert(tool).values({
    projectId, name: 'slow', category: 'data_source', toolType: 'api', status: 'active', inputSchema: { type: 'object' },
    config: { method: 'GET', url: server.url(path) }, timeoutMs: 2000,
  }).returning();
  await db.db.insert(agentToolAssignment).values({ agentId: agent!.id, toolId: t!.id, rateLimit: 100 });
  return { projectId, agentId: agent!.id, toolId: t!.id };
}

const attemptRow = async (workflowId: string, attempt: number) =>
  (await db.db.select().from(toolExecutionLog).where(and(eq(toolExecutionLog.workflowId, workflowId), eq(toolExecutionLog.attempt, attempt))))[0];

describe('tool execution log rows of attempts whose worker died', () => {
  it('closes the running row of an earlier attempt when the retry runs', async () => {
    const ids = await rateLimitedTool('/slow');
    const call = (attempt: number, signal: AbortSignal): ToolCallParams => ({
      ...ids, workflowId: `turn:${randomUUID()}`, toolCallId: 'call_1', arguments: {}, attempt, executionType: 'agent_runtime', signal,
    });
    const first = call(1, new AbortController().signal);
    // Attempt 1 never finishes (its worker "died"): its row stays `running`.
    void executeToolCall(deps, first).catch(() => undefined);
    await expect.poll(() => server.calls('/slow').length).toBe(1);
    expect((await attemptRow(first.workflowId!, 1))?.status).toBe('running');

    const retried = await executeToolCall(deps, { ...first, attempt: 2, signal: AbortSignal.timeout(2000) });
    expect(retried.output).toMatchObject({ body: { answer: 42 } });
    expect(await attemptRow(first.workflowId!, 1)).toMatchObject({ status: 'abandoned', errorMessage: expect.stringMatching(/stopped before it finished/) });
    expect((await attemptRow(first.workflowId!, 2))?.status).toBe('success');
  });

  it('closes a running row no attempt can still be behind at the next tool call anywhere', async () => {
    const stale = await rateLimitedTool('/ok');
    const workflowId = `turn:${randomUUID()}`;
    await db.db.insert(toolExecutionLog).values({
      toolId: stale.toolId, agentId: stale.agentId, workflowId, toolCallId: 'call_1', attempt: 3, status: 'running',
      executionType: 'agent_runtime', createdAt: sql`now() - interval '1 hour'` as unknown as Date,
    });
    const other = await rateLimitedTool('/ok');
    await executeToolCall(deps, {
      ...other, workflowId: `turn:${randomUUID()}`, toolCallId: 'call_1', arguments: {}, attempt: 1, executionType: 'agent_runtime', signal: AbortSignal.timeout(2000),
    });
    expect((await attemptRow(workflowId, 3))?.status).toBe('abandoned');
  });
});

describe('tool execution log input params', () => {
  it('stores the arguments the model sent on a rate-limited call (whose running row the outcome completes)', async () => {
    const ids = await rateLimitedTool('/ok');
    const workflowId = `turn:${randomUUID()}`;
    await executeToolCall(deps, {
      ...ids, workflowId, toolCallId: 'call_1', arguments: JSON.stringify({ city: 'Paris', days: 3 }), attempt: 1,
      executionType: 'agent_runtime', signal: AbortSignal.timeout(2000),
    });
    expect(await attemptRow(workflowId, 1)).toMatchObject({ status: 'success', inputParams: { city: 'Paris', days: 3 } });
  });

  it('blanks a credential the model echoed in its arguments, even when the arguments are refused', async () => {
    const keyring = parseKeyring(config.TOOL_CREDENTIALS_KEYS, undefined);
    const token = `tok-${randomUUID()}`;
    const ids = await rateLimitedTool('/ok');
    const [row] = await db.db.select().from(tool).where(eq(tool.id, ids.toolId));
    const sealed = sealBoundCredentials(keyring, { type: 'bearer', token }, 'api', row!.config);
    await db.db.update(tool).set({ ...sealed, inputSchema: { type: 'object', properties: { n: { type: 'number' } } } }).where(eq(tool.id, ids.toolId));
    const call = (args: Record<string, unknown>) => ({
      ...ids, workflowId: `turn:${randomUUID()}`, toolCallId: 'call_1', arguments: JSON.stringify(args), attempt: 1,
      executionType: 'agent_runtime' as const, signal: AbortSignal.timeout(2000),
    });
    const ok = call({ note: `use ${token}` });
    await executeToolCall({ ...deps, keyring }, ok);
    const refused = call({ n: token });
    await expect(executeToolCall({ ...deps, keyring }, refused)).rejects.toThrow(/invalid arguments/);
    expect((await attemptRow(ok.workflowId, 1))?.inputParams).toEqual({ note: 'use [redacted]' });
    expect((await attemptRow(refused.workflowId, 1))?.inputParams).toEqual({ n: '[redacted]' });
  });
});
