import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agents/store';
import { testConfig, testDb, testProject } from '../support/stack';

let db: ReturnType<typeof testDb>;
beforeAll(() => {
  db = testDb(testConfig());
});
afterAll(() => db.close());

describe('database schema', () => {
  it('moves updated_at on any UPDATE, raw SQL included', async () => {
    const { projectId } = await testProject(db);
    const agent = await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
    await new Promise((r) => setTimeout(r, 20));
    const [row] = await db.db.execute<{ created_at: Date; updated_at: Date }>(
      sql`update smart_agent set name = 'b' where id = ${agent.id} returning created_at, updated_at`,
    );
    expect(new Date(row!.updated_at).getTime()).toBeGreaterThan(agent.updatedAt.getTime());
  });

  it('deletes a project with everything in it (cascades)', async () => {
    const { projectId } = await testProject(db);
    await createAgent(db.db, projectId, { name: 'a', goal: 'g' });
    await db.db.execute(sql`delete from project where id = ${projectId}`);
    const [left] = await db.db.execute<{ n: number }>(
      sql`select (select count(*) from smart_agent where project_id = ${projectId})::int + (select count(*) from api_key where project_id = ${projectId})::int as n`,
    );
    expect(left!.n).toBe(0);
  });

  it('defines one turn row per (conversation, index) and one message per position', async () => {
    const [row] = await db.db.execute<{ n: number }>(sql`
      select count(*)::int as n from pg_indexes
      where indexname in ('agent_execution_history_conversation_index_uq', 'message_conversation_turn_position_uq', 'api_key_hash_uq')`);
    expect(row!.n).toBe(3);
  });

  it('has the set_updated_at trigger on every table with an updated_at column (later migrations add their own)', async () => {
    const missing = await db.db.execute<{ table_name: string }>(sql`
      select c.table_name from information_schema.columns c
      join information_schema.tables t on t.table_name = c.table_name and t.table_schema = c.table_schema
      where c.table_schema = current_schema() and c.column_name = 'updated_at' and t.table_type = 'BASE TABLE'
        and not exists (
          select 1 from pg_trigger g join pg_class r on r.oid = g.tgrelid
          where r.relname = c.table_name and g.tgname = c.table_name || '_set_updated_at' and not g.tgisinternal)`);
    expect(missing.map((r) => r.table_name)).toEqual([]);
  });
});
