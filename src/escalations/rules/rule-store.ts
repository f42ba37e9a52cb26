// Project-scoped queries for escalation rules; tenant scoping (the projectId filter) lives here and nowhere else.
import { and, count, eq, inArray } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { selectPage, type PageRequest } from '../../db/pagination.js';
import { appUser, escalationEvent, escalationRule, escalationTemplate, smartAgent } from '../../db/schema/index.js';
import { escalationStatuses } from '../../../workflows/contracts/index.js';

export type RuleRow = typeof escalationRule.$inferSelect;
export type RuleFields = Omit<typeof escalationRule.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;

/** Statuses of an escalation whose workflow is still running. */
const openStatuses = escalationStatuses.filter((s) => s !== 'resolved' && s !== 'ignored');

/**
 * The rule if it belongs to the project. `lock` takes the row lock, so concurrent changes of one rule
 * (and the Temporal calls made with them) run one after the other.
 */
export async function findRule(db: DbOrTx, projectId: string, id: string, opts: { lock?: boolean } = {}): Promise<RuleRow | undefined> {
  const query = db.select().from(escalationRule).where(and(eq(escalationRule.id, id), eq(escalationRule.projectId, projectId)));
  const [row] = opts.lock ? await query.for('update') : await query;
  return row;
}

/** A page of the project's rules, newest first; returns `limit + 1` rows (see `toPage`). */
export function listRules(
  db: DbOrTx,
  projectId: string,
  filter: { agentId?: string; ruleType?: string; status?: string },
  page: PageRequest,
): Promise<RuleRow[]> {
  return selectPage(db, escalationRule, eq(escalationRule.projectId, projectId), [
    filter.agentId ? eq(escalationRule.agentId, filter.agentId) : undefined,
    filter.ruleType ? eq(escalationRule.ruleType, filter.ruleType) : undefined,
    filter.status ? eq(escalationRule.status, filter.status) : undefined,
  ], page);
}

/**
 * The rules a manual escalation of an agent's conversation may use: the given one (any type), or the
 * agent's manual rules. The agent comes from a conversation already found in the caller's project.
 */
export function manualRuleCandidates(db: DbOrTx, agentId: string, ruleId: string | undefined): Promise<RuleRow[]> {
  return db
    .select()
    .from(escalationRule)
    .where(and(eq(escalationRule.agentId, agentId), ruleId ? eq(escalationRule.id, ruleId) : eq(escalationRule.ruleType, 'manual')));
}

export async function insertRule(db: DbOrTx, projectId: string, values: RuleFields): Promise<RuleRow> {
  const [row] = await db.insert(escalationRule).values({ ...values, projectId }).returning();
  return row!;
}

export async function updateRule(db: DbOrTx, id: string, values: Partial<RuleFields>): Promise<RuleRow> {
  const [row] = await db.update(escalationRule).set(values).where(eq(escalationRule.id, id)).returning();
  return row!;
}

/** Deleting a rule cascades to its events and their notifications (see the schema). */
export async function deleteRule(db: DbOrTx, id: string): Promise<void> {
  await db.delete(escalationRule).where(eq(escalationRule.id, id));
}

export async function countOpenEvents(db: DbOrTx, ruleId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(escalationEvent)
    .where(and(eq(escalationEvent.escalationRuleId, ruleId), inArray(escalationEvent.status, openStatuses)));
  return row?.n ?? 0;
}

/** One id a rule refers to, with the request field it came from. */
export interface RuleReference {
  kind: 'agent' | 'user' | 'template';
  id: string;
  field: string;
}

/**
 * The references that do not name a row of the project (other projects' rows count as missing).
 * Users found are locked `for key share` until the transaction ends, so a concurrent user delete waits
 * and then sees this rule (see `deleteUnusedUser`).
 */
export async function missingReferences(db: DbOrTx, projectId: string, refs: RuleReference[]): Promise<RuleReference[]> {
  const ids = (kind: RuleReference['kind']) => [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.id))];
  const [agents, people, templates] = await Promise.all([
    existing(ids('agent'), (list) => db.select({ id: smartAgent.id }).from(smartAgent).where(and(eq(smartAgent.projectId, projectId), inArray(smartAgent.id, list)))),
    existing(ids('user'), (list) => db.select({ id: appUser.id }).from(appUser).where(and(eq(appUser.projectId, projectId), inArray(appUser.id, list))).for('key share')),
    existing(ids('template'), (list) =>
      db.select({ id: escalationTemplate.id }).from(escalationTemplate).where(and(eq(escalationTemplate.projectId, projectId), inArray(escalationTemplate.id, list))),
    ),
  ]);
  const found = { agent: agents, user: people, template: templates };
  return refs.filter((r) => !found[r.kind].has(r.id));
}

async function existing(list: string[], query: (list: string[]) => Promise<{ id: string }[]>): Promise<Set<string>> {
  if (list.length === 0) return new Set();
  return new Set((await query(list)).map((r) => r.id));
}
