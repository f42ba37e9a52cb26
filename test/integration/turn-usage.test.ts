// A project's monthly turn limit reads one usage row per submit, kept by the turn's start, instead of counting
// the month's turn rows (a count that grew with every turn the project ever had: turn rows have no index on time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { createConversation } from '../../src/conversations/store';
import { beginTurn } from '../../src/conversations/turn-store';
import { checkPlanLimit, updatePlan } from '../../src/tenancy/plans-store';
import { turnsThisMonth } from '../../src/tenancy/turn-usage';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig(), { max: 8 });
});
afterAll(() => db.close());

async function project() {
  const { projectId } = await testProject(db);
  const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
  const conversation = async () => {
    const conv = await createConversation(db.db, { projectId, agentId: agent.id });
    return (turnIndex: number) =>
      beginTurn(db.db, { projectId, agentId: agent.id, conversationId: conv.id, turnIndex, content: `q ${turnIndex}`, workflowId: `turn:${conv.id}:${turnIndex}`, runId: 'r' });
  };
  return { projectId, conversation };
}

describe('turns per project and month', () => {
  it('counts each turn once, however often its start is retried, and only for its own project', async () => {
    const a = await project();
    const b = await project();
    const begin = await a.conversation();
    await begin(1);
    await begin(1); // an activity retry after the first attempt committed
    await Promise.all([begin(2), begin(2)]); // two attempts at once: one inserts the row, the other waits and finds it
    expect(await turnsThisMonth(db.db, a.projectId)).toBe(2);
    expect(await turnsThisMonth(db.db, b.projectId)).toBe(0);
  });

  it('loses no turn when a project starts many at once', async () => {
    const p = await project();
    const starts = await Promise.all(Array.from({ length: 8 }, () => p.conversation()));
    await Promise.all(starts.map((begin) => begin(1)));
    expect(await turnsThisMonth(db.db, p.projectId)).toBe(8);
  });

  it('checks the monthly limit against this month’s usage row', async () => {
    const p = await project();
    await updatePlan(db.db, p.projectId, { monthlyTurnLimit: 3 });
    // Usage the project had before its turn rows were written here (the migration's backfill, a deleted history):
    // the old check counted turn rows and saw none.
    await db.sql`insert into project_turn_usage (project_id, month, turns)
      values (${p.projectId}, date_trunc('month', now() at time zone 'UTC')::date, 3)`;
    expect(await checkPlanLimit(db.db, p.projectId, 'monthly_turns')).toEqual({ ok: false, limit: 3, used: 3 });
  });

  it('starts every month from zero', async () => {
    const p = await project();
    await updatePlan(db.db, p.projectId, { monthlyTurnLimit: 3 });
    await db.sql`insert into project_turn_usage (project_id, month, turns)
      values (${p.projectId}, (date_trunc('month', now() at time zone 'UTC') - interval '1 month')::date, 50)`;
    const begin = await p.conversation();
    await begin(1);
    expect(await checkPlanLimit(db.db, p.projectId, 'monthly_turns')).toEqual({ ok: true, limit: 3, used: 1 });
  });
});
