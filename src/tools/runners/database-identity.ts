import postgres from 'postgres';
import { ToolError } from '../types.js';

/**
 * What tells one database apart from every other, however it is reached (another loopback address, a
 * port forward, a DNS alias): the cluster's `system_identifier` (shared by its physical replicas, which
 * hold the same data) or, where a role may not read it, the postmaster's start time; plus the name.
 */
export interface DatabaseIdentity {
  database: string;
  systemId: string | null;
  started: string;
}

/** Roles whose members reach past their own database: files, programs, other sessions, server settings. */
const powerfulRoles = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_signal_backend', 'pg_read_all_settings', 'pg_read_all_stats'];

interface SessionRow {
  database: string;
  started: string;
  can_read_system_id: boolean;
  superuser: boolean;
  powers: string;
}

async function readSession(sql: postgres.Sql): Promise<DatabaseIdentity & { superuser: boolean; powers: string }> {
  const [row] = await sql.unsafe<SessionRow[]>(`
    select current_database() as database,
           extract(epoch from pg_catalog.pg_postmaster_start_time())::text as started,
           has_function_privilege('pg_catalog.pg_control_system()', 'execute') as can_read_system_id,
           r.rolsuper as superuser,
           coalesce((select string_agg(p.rolname, ', ' order by p.rolname) from pg_catalog.pg_roles p
                     where p.rolname in (${powerfulRoles.map((name) => `'${name}'`).join(', ')})
                       and pg_catalog.pg_has_role(current_user, p.oid, 'MEMBER')), '') as powers
    from pg_catalog.pg_roles r where r.rolname = current_user`);
  if (!row) throw new ToolError('server_error', 'could not read the connected role');
  // A separate query: a function the role may not execute fails the whole statement that names it.
  const systemId = row.can_read_system_id
    ? ((await sql.unsafe<{ id: string }[]>('select system_identifier::text as id from pg_catalog.pg_control_system()'))[0]?.id ?? null)
    : null;
  return { database: row.database, started: row.started, systemId, superuser: row.superuser, powers: row.powers };
}

export function sameDatabase(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
  if (a.database !== b.database) return false;
  return (a.systemId !== null && a.systemId === b.systemId) || a.started === b.started;
}

/** Whether a tool session's identity is the product's own database (see {@link ownDatabaseMatcher}). */
export type OwnDatabaseCheck = (session: DatabaseIdentity) => Promise<boolean>;

/**
 * Checks a fresh tool connection before any tool query runs: it is not the product's own database, and
 * its role cannot reach outside what it is granted (superusers and members of {@link powerfulRoles}
 * read files, run programs and signal other sessions whatever the read-only transaction says).
 * @throws ToolError `forbidden`
 */
export async function vetSession(sql: postgres.Sql, isOwn: OwnDatabaseCheck): Promise<void> {
  const session = await readSession(sql);
  if (await isOwn(session)) {
    throw new ToolError('forbidden', "the connection string leads to the product's own database; database tools may never connect to it");
  }
  if (session.superuser) {
    throw new ToolError('forbidden', 'the connection string logs in as a superuser; give database tools a dedicated read-only role');
  }
  if (session.powers) {
    throw new ToolError('forbidden', `the tool's role is a member of ${session.powers}; give database tools a dedicated read-only role`);
  }
}

/**
 * Recognises the product's own database, reading its identity once and keeping it. The start time in
 * that identity changes whenever Postgres restarts, so a session with our database's name whose match
 * would rest on the start time alone (one side lacks the system identifier) and that shows another start
 * time makes it read our identity again before answering: a stale start time would otherwise let a tool
 * whose role cannot read `pg_control_system` in after every restart. A failed read is not kept, so the
 * next call tries again (and this one fails as retryable).
 */
export function ownDatabaseMatcher(readOwn: () => Promise<DatabaseIdentity>): OwnDatabaseCheck {
  let pending: Promise<DatabaseIdentity> | undefined;
  const read = (): Promise<DatabaseIdentity> => {
    const attempt = readOwn().catch((error: unknown) => {
      if (pending === attempt) pending = undefined;
      throw new ToolError('network', `could not read the product database's identity: ${(error as Error).message}`);
    });
    pending = attempt;
    return attempt;
  };
  return async (session) => {
    const cached = pending ?? read();
    const own = await cached;
    if (sameDatabase(session, own)) return true;
    const restsOnStartTime = session.database === own.database && (session.systemId === null || own.systemId === null);
    if (!restsOnStartTime) return false;
    // Concurrent callers that saw the same stale identity share one fresh read.
    return sameDatabase(session, await (pending === cached ? read() : pending ?? read()));
  };
}

/** Reads the identity of the database at `databaseUrl` (the product's own) over a short-lived connection. */
export function identityReader(databaseUrl: string): () => Promise<DatabaseIdentity> {
  return async () => {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'smart-agents-worker' } });
    try {
      const { database, started, systemId } = await readSession(sql);
      return { database, started, systemId };
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
}
