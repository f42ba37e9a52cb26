import { count, inArray } from 'drizzle-orm';
import { Gauge, type Registry } from 'prom-client';
import { escalationStatuses } from '../../workflows/contracts/index.js';
import type { Db } from '../db/client.js';
import { escalationEvent, knowledgeDocument } from '../db/schema/index.js';

/** Escalations that still take commands and notify (resolved and ignored ones are closed). */
const openStatuses = escalationStatuses.filter((s) => s !== 'resolved' && s !== 'ignored');
const documentStatuses = ['pending', 'processing', 'completed', 'failed'];

/** A scrape must answer even when Postgres does not: the state gauges are then left out of it. */
const QUERY_TIMEOUT_MS = 2_000;

/**
 * Counts of the whole installation, read from Postgres when scraped (two GROUP BYs over the status indexes),
 * so every gateway reports the same numbers and nothing drifts: open escalations by status and knowledge
 * documents by ingestion status. All projects together; no project label.
 */
export function registerStateGauges(registry: Registry, db: Db, onError: (err: unknown) => void): void {
  const registers = [registry];
  new Gauge({
    name: 'smart_agents_open_escalations', help: 'Escalations not resolved or ignored, by status', labelNames: ['status'], registers,
    async collect() {
      const rows = await settle(this, onError, () =>
        db.select({ status: escalationEvent.status, n: count() }).from(escalationEvent)
          .where(inArray(escalationEvent.status, openStatuses)).groupBy(escalationEvent.status),
      );
      if (rows) setByStatus(this, openStatuses, rows);
    },
  });
  new Gauge({
    name: 'smart_agents_knowledge_documents', help: 'Knowledge documents by ingestion status', labelNames: ['status'], registers,
    async collect() {
      const rows = await settle(this, onError, () =>
        db.select({ status: knowledgeDocument.processingStatus, n: count() }).from(knowledgeDocument).groupBy(knowledgeDocument.processingStatus),
      );
      if (rows) setByStatus(this, documentStatuses, rows);
    },
  });
}

type Counted = Array<{ status: string; n: number }>;

/** Known statuses always appear (0 when none); a status the code does not know is counted as `other`. */
function setByStatus(gauge: Gauge<'status'>, known: readonly string[], rows: Counted): void {
  const values = new Map<string, number>(known.map((s) => [s, 0]));
  for (const { status, n } of rows) {
    const key = known.includes(status) ? status : 'other';
    values.set(key, (values.get(key) ?? 0) + n);
  }
  for (const [status, n] of values) gauge.set({ status }, n);
}

/** The query's rows, or undefined (the gauge emptied, the error reported) when it fails or takes too long. */
async function settle(gauge: Gauge<'status'>, onError: (err: unknown) => void, query: () => Promise<Counted>): Promise<Counted | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Postgres within ${QUERY_TIMEOUT_MS} ms`)), QUERY_TIMEOUT_MS);
    });
    return await Promise.race([query(), late]);
  } catch (err) {
    gauge.reset();
    onError(err);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
