import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createAgent } from '../../src/agents/store';
import { modelHistoryQuery } from '../../src/conversations/model-history';
import { createConversation } from '../../src/conversations/store';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig());
});
afterAll(() => db.close());

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Rows each table's scans returned in one run of the query (EXPLAIN ANALYZE), summed over loops. */
function rowsRead(node: PlanNode, out: Record<string, number> = {}): Record<string, number> {
  if (node['Relation Name']) out[node['Relation Name']] = (out[node['Relation Name']] ?? 0) + (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1);
  for (const child of node.Plans ?? []) rowsRead(child, out);
  return out;
}

describe('the model history of a long conversation', () => {
  it('reads about as many rows as its window, however many turns came before (no scan of the whole conversation)', async () => {
    const { projectId } = await testProject(db);
    const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
    const conv = await createConversation(db.db, { projectId, agentId: agent.id });
    const turns = 400;
    await db.db.execute(sql`
      insert into agent_execution_history (project_id, agent_id, conversation_id, message_index, workflow_id, run_id, user_input, status)
      select ${projectId}, ${agent.id}, ${conv.id}, i, 'turn:' || i, 'r', 'q' || i, 'completed' from generate_series(1, ${turns}) i`);
    await db.db.execute(sql`
      insert into message (conversation_id, turn_index, position, role, content)
      select ${conv.id}, i, p, case when p = 0 then 'user' else 'assistant' end, 'm' || i || ':' || p
      from generate_series(1, ${turns}) i, generate_series(0, 1) p`);
    // As autovacuum would have by now in any database this size (a fresh one without statistics scans instead).
    await db.db.execute(sql`analyze message`);
    await db.db.execute(sql`analyze agent_execution_history`);

    const window = 20;
    const query = modelHistoryQuery(db.db, conv.id, turns + 1, window).toSQL();
    const [explained] = await db.sql.unsafe(`explain (analyze, format json) ${query.sql}`, query.params as never[]);
    const read = rowsRead((explained as unknown as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0]!.Plan);
    expect(read.message).toBeLessThanOrEqual(window + 1);
    expect(read.agent_execution_history ?? 0).toBeLessThanOrEqual(window + 1);
    expect((await modelHistoryQuery(db.db, conv.id, turns + 1, window)).map((r) => r.content).slice(0, 2)).toEqual([`m${turns}:1`, `m${turns}:0`]);
  });
});
