// Queries for escalation events; tenant scoping (the projectId filter) lives here and nowhere else.
import { and, eq } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { selectPage, type PageRequest } from '../../db/pagination.js';
import { escalationEvent } from '../../db/schema/index.js';

export type EventRow = typeof escalationEvent.$inferSelect;

/** Filters of `GET /v1/escalations`; each one given narrows the list. */
export interface EventFilter {
  status?: string | undefined;
  agentId?: string | undefined;
  ruleId?: string | undefined;
  conversationId?: string | undefined;
}

/** The event if it belongs to the project. */
export async function findEvent(db: DbOrTx, projectId: string, id: string): Promise<EventRow | undefined> {
  const [row] = await db.select().from(escalationEvent).where(and(eq(escalationEvent.id, id), eq(escalationEvent.projectId, projectId)));
  return row;
}

/**
 * The event by id alone, for callers whose id is already trusted: a signed notification link (the token
 * is the credential), a workflow's activity, or a re-read after a command.
 */
export async function findEventById(db: DbOrTx, id: string): Promise<EventRow | undefined> {
  const [row] = await db.select().from(escalationEvent).where(eq(escalationEvent.id, id));
  return row;
}

/** A page of the project's events, newest first; returns `limit + 1` rows (see `toPage`). */
export function listEvents(db: DbOrTx, projectId: string, filter: EventFilter, page: PageRequest): Promise<EventRow[]> {
  return selectPage(db, escalationEvent, eq(escalationEvent.projectId, projectId), [
    filter.status ? eq(escalationEvent.status, filter.status) : undefined,
    filter.agentId ? eq(escalationEvent.agentId, filter.agentId) : undefined,
    filter.ruleId ? eq(escalationEvent.escalationRuleId, filter.ruleId) : undefined,
    filter.conversationId ? eq(escalationEvent.conversationId, filter.conversationId) : undefined,
  ], page);
}

/** Removes an event whose workflow never started; the dedupe key guards against removing another request's event. */
export async function deleteUnstartedEvent(db: DbOrTx, eventId: string, dedupeKey: string): Promise<void> {
  await db.delete(escalationEvent).where(and(eq(escalationEvent.id, eventId), eq(escalationEvent.dedupeKey, dedupeKey)));
}
