import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { startConversation } from '../../src/conversations/start-conversation';
import { temporalClient, testConfig, testDb, testProject } from '../support/stack';

// A query on the pool from inside a transaction needs a second connection while the transaction holds one: with
// as many such requests at once as the pool has connections, every connection waits for another and the process
// stops answering (ten concurrent POST /v1/conversations hung a gateway for good). On a pool of one connection a
// single request shows it.
const config = testConfig();
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
beforeAll(async () => {
  db = testDb(config, { max: 1 });
  temporal = await temporalClient(config);
});
afterAll(async () => {
  await temporal.close();
  await db.close();
});

const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms: a transaction waits for a second connection`)), ms))]);

describe('transactions use their own connection only', () => {
  it('opens conversations on a pool of one connection, several at once', async () => {
    const { projectId } = await testProject(db);
    const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g', status: 'active' });
    const open = () => startConversation(db.db, temporal.client, config.TEMPORAL_TASK_QUEUE, projectId, { agentId: agent.id });
    const rows = await within(15_000, Promise.all([open(), open(), open()]));
    expect(new Set(rows.map((r) => r.id)).size).toBe(3);
  });
});
