// Tenant isolation for users (escalation targets) lives here: every query is filtered by project.
import { and, eq, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client.js';
import { selectPage, type PageRequest } from '../db/pagination.js';
import { appUser, escalationRule } from '../db/schema/index.js';
import { ConflictError } from '../errors.js';
import { postgresErrorCode } from '../failures.js';

export type UserRow = typeof appUser.$inferSelect;
export type UserFields = Omit<typeof appUser.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/** Runs a write that may hit the (project, email) unique index and throws 409 `user_exists` for it. */
async function uniqueEmail<T>(email: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (postgresErrorCode(err) === UNIQUE_VIOLATION) {
      throw new ConflictError('user_exists', `a user with email ${email ?? 'this'} already exists in this project`);
    }
    throw err;
  }
}

/** The user if it belongs to the project; another project's user is indistinguishable from none. */
export async function findUser(db: DbOrTx, projectId: string, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(appUser).where(and(eq(appUser.id, id), eq(appUser.projectId, projectId)));
  return row;
}

/** The project's users, newest first: `limit + 1` rows so the caller can tell whether there is more. */
export function listUsers(db: DbOrTx, projectId: string, page: PageRequest): Promise<UserRow[]> {
  return selectPage(db, appUser, eq(appUser.projectId, projectId), [], page);
}

/** Throws {@link ConflictError} `user_exists` when the email is taken in the project. */
export function createUser(db: DbOrTx, projectId: string, values: UserFields): Promise<UserRow> {
  return uniqueEmail(values.email, async () => {
    const [row] = await db.insert(appUser).values({ ...values, projectId }).returning();
    return row!;
  });
}

/** Undefined when the project has no such user; throws {@link ConflictError} `user_exists` for a taken email. */
export function updateUser(db: DbOrTx, projectId: string, id: string, values: Partial<UserFields>): Promise<UserRow | undefined> {
  return uniqueEmail(values.email, async () => {
    const [row] = await db
      .update(appUser)
      .set(values)
      .where(and(eq(appUser.id, id), eq(appUser.projectId, projectId)))
      .returning();
    return row;
  });
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
