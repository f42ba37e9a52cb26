// Projects are the tenants: creating one also creates its plan and first key, in one transaction.
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { project, subscription } from '../db/schema/index.js';
import { createApiKey } from './api-keys-store.js';

/**
 * Creates a project with its plan and a first admin key. Returns the key's plaintext, which is not
 * stored anywhere and cannot be shown again.
 */
export async function createProject(db: DbOrTx, p: { name: string; slug: string }) {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(project).values(p).returning();
    await tx.insert(subscription).values({ projectId: row!.id });
    const key = await createApiKey(tx, row!.id, { name: 'bootstrap admin key', permissions: ['admin'] });
    return { project: row!, apiKey: key.plaintext };
  });
}

/** The default project of `npm start`: created once, with its admin key returned only that first time. */
export async function ensureDefaultProject(db: DbOrTx, slug = 'default') {
  const [existing] = await db.select().from(project).where(eq(project.slug, slug));
  if (existing) return { created: false as const, projectId: existing.id };
  const created = await createProject(db, { name: 'Default project', slug });
  return { created: true as const, projectId: created.project.id, apiKey: created.apiKey };
}
