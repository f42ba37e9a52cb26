import { and, eq, or, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { appUser, escalationRule } from '../db/schema/index.js';

export type UserRow = typeof appUser.$inferSelect;
export type UserFields = Omit<typeof appUser.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;

/** The SQLSTATE of a failed query; Drizzle wraps the driver's error in `cause`. */
export function postgresErrorCode(err: unknown): string | undefined {
  for (let e = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

/** The user if it belongs to the project; another project's user is indistinguishable from none. */
export async function findUser(db: DbOrTx, projectId: string, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(appUser).where(and(eq(appUser.id, id), eq(appUser.projectId, projectId)));
  return row;
}

export function listUsers(db: DbOrTx, projectId: string, page: { where?: SQL; orderBy: SQL[]; limit: number }) {
  return db
    .select()
    .from(appUser)
    .where(and(eq(appUser.projectId, projectId), page.where))
    .orderBy(...page.orderBy)
    .limit(page.limit + 1);
}

/** Throws a unique violation (23505) when the email is taken in the project; see {@link postgresErrorCode}. */
export async function createUser(db: DbOrTx, projectId: string, values: UserFields): Promise<UserRow> {
  const [row] = await db.insert(appUser).values({ ...values, projectId }).returning();
  return row!;
}

export async function updateUser(db: DbOrTx, projectId: string, id: string, values: Partial<UserFields>): Promise<UserRow | undefined> {
  const [row] = await db
    .update(appUser)
    .set(values)
    .where(and(eq(appUser.id, id), eq(appUser.projectId, projectId)))
    .returning();
  return row;
}

/**
 * Rules of the project that escalate to the user: as their target (a foreign key) or inside a policy
 * level (JSON, which no foreign key guards). Containment matches a level whose targets include the id.
 */
export function rulesUsingUser(db: DbOrTx, projectId: string, userId: string) {
  const inLevels = JSON.stringify({ levels: [{ targets: [userId] }] });
  return db
    .select({ id: escalationRule.id, name: escalationRule.name })
    .from(escalationRule)
    .where(
      and(
        eq(escalationRule.projectId, projectId),
        or(eq(escalationRule.escalationTarget, userId), sql`${escalationRule.policy} @> ${inLevels}::jsonb`),
      ),
    )
    .orderBy(escalationRule.name);
}

export type DeleteUserResult =
  | { outcome: 'deleted' | 'not_found' }
  | { outcome: 'in_use'; rules: { id: string; name: string }[] };

class UserInUse extends Error {
  constructor(readonly rules: { id: string; name: string }[]) {
    super('user in use');
  }
}

/**
 * Deletes a user no rule escalates to. The row is deleted first and the rules checked after, in one
 * transaction: the delete waits for rule writes that locked the user (`for key share`), so a rule saved
 * concurrently is seen by the check and the delete rolls back.
 */
export async function deleteUnusedUser(db: Db, projectId: string, id: string): Promise<DeleteUserResult> {
  try {
    return await db.transaction(async (tx) => {
      const [row] = await tx
        .delete(appUser)
        .where(and(eq(appUser.id, id), eq(appUser.projectId, projectId)))
        .returning({ id: appUser.id });
      if (!row) return { outcome: 'not_found' as const };
      const rules = await rulesUsingUser(tx, projectId, id);
      if (rules.length > 0) throw new UserInUse(rules);
      return { outcome: 'deleted' as const };
    });
  } catch (err) {
    if (err instanceof UserInUse) return { outcome: 'in_use', rules: err.rules };
    // escalation_rule.escalation_target is ON DELETE RESTRICT.
    if (postgresErrorCode(err) === FOREIGN_KEY_VIOLATION) return { outcome: 'in_use', rules: await rulesUsingUser(db, projectId, id) };
    throw err;
  }
}
