// One `npm start` per database: two local stacks sharing a database would run each other's turns,
// schedules and escalations. The first holds a session-level advisory lock on the database for as long as
// it runs; a second one is refused with a message naming the first.
import postgres from 'postgres';

/** The two-key form, so the lock is easy to find in pg_locks (classid, objid). */
const LOCK_KEYS = [0x5341_4f01, 1] as const;

export class InstanceLockHeld extends Error {
  constructor(
    readonly database: string,
    readonly holder: string | undefined,
  ) {
    super(
      `another \`npm start\` is already using the database "${database}"` +
        (holder ? ` (${holder})` : '') +
        '. Stop it, or give this one its own database, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/smart_agents_2 npm start ' +
        '(and other ports: PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT, DEMO_LLM_PORT).',
    );
  }
}

export interface InstanceLock {
  release(): Promise<void>;
}

/**
 * Takes the database's instance lock, labelled `label` (shown to whoever is refused), on a connection of
 * its own that is kept open until `release`. Throws {@link InstanceLockHeld} when another session holds it.
 */
export async function holdInstanceLock(databaseUrl: string, label: string): Promise<InstanceLock> {
  // application_name is at most 63 bytes; keep the end of the label (the checkout path's tail and pid).
  const sql = postgres(databaseUrl, { max: 1, idle_timeout: 0, onnotice: () => {}, connection: { application_name: label.slice(-63) } });
  try {
    const [row] = await sql<{ locked: boolean }[]>`select pg_try_advisory_lock(${LOCK_KEYS[0]}, ${LOCK_KEYS[1]}) as locked`;
    if (!row?.locked) {
      const [holder] = await sql<{ application_name: string; pid: number; client_addr: string | null }[]>`
        select a.application_name, a.pid, a.client_addr::text from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.database = (select oid from pg_database where datname = current_database())
          and l.classid = ${LOCK_KEYS[0]} and l.objid = ${LOCK_KEYS[1]} and l.objsubid = 2`;
      const [db] = await sql<{ name: string }[]>`select current_database() as name`;
      throw new InstanceLockHeld(db?.name ?? '?', holder ? `${holder.application_name}, server pid ${holder.pid}` : undefined);
    }
  } catch (err) {
    await sql.end({ timeout: 5 });
    throw err;
  }
  return { release: () => sql.end({ timeout: 5 }) };
}
