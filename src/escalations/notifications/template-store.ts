// Project-scoped queries for notification templates; tenant scoping (the projectId filter) lives here.
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { selectPage, type PageRequest } from '../../db/pagination.js';
import { escalationTemplate } from '../../db/schema/index.js';

export type TemplateRow = typeof escalationTemplate.$inferSelect;
export type TemplateFields = Omit<typeof escalationTemplate.$inferInsert, 'id' | 'projectId' | 'createdAt' | 'updatedAt'>;

const byId = (projectId: string, id: string) => and(eq(escalationTemplate.id, id), eq(escalationTemplate.projectId, projectId));

export async function insertTemplate(db: DbOrTx, projectId: string, values: TemplateFields): Promise<TemplateRow> {
  const [row] = await db.insert(escalationTemplate).values({ ...values, projectId }).returning();
  return row!;
}

/** A page of the project's templates, newest first; returns `limit + 1` rows (see `toPage`). */
export function listTemplates(db: DbOrTx, projectId: string, filter: { messageType?: string | undefined }, page: PageRequest): Promise<TemplateRow[]> {
  return selectPage(db, escalationTemplate, eq(escalationTemplate.projectId, projectId), [
    filter.messageType ? eq(escalationTemplate.messageType, filter.messageType) : undefined,
  ], page);
}

export async function findTemplate(db: DbOrTx, projectId: string, id: string): Promise<TemplateRow | undefined> {
  const [row] = await db.select().from(escalationTemplate).where(byId(projectId, id));
  return row;
}

/** The changed template; undefined when the project has no such template (deleted meanwhile). */
export async function updateTemplate(db: DbOrTx, projectId: string, id: string, values: Partial<TemplateFields>): Promise<TemplateRow | undefined> {
  const [row] = await db.update(escalationTemplate).set(values).where(byId(projectId, id)).returning();
  return row;
}

/** False when the project has no such template. */
export async function deleteTemplate(db: DbOrTx, projectId: string, id: string): Promise<boolean> {
  const deleted = await db.delete(escalationTemplate).where(byId(projectId, id)).returning({ id: escalationTemplate.id });
  return deleted.length > 0;
}
