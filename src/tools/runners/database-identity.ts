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

/**
 * Checks a fresh tool connection before any tool query runs: it is not the product's own database, and
 * its role cannot reach outside what it is granted (superusers and members of {@link powerfulRoles}
 * read files, run programs and signal other sessions whatever the read-only transaction says).
 * @throws ToolError `forbidden`
 */
export async function vetSession(sql: postgres.Sql, own: DatabaseIdentity): Promise<void> {
  const session = await readSession(sql);
  if (sameDatabase(session, own)) {
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
 * Reads the product's own identity from `DATABASE_URL` on first use and keeps it; a failure is not kept,
 * so the next call tries again (and this one fails as retryable).
 */
export function ownIdentityReader(databaseUrl: string): () => Promise<DatabaseIdentity> {
  let pending: Promise<DatabaseIdentity> | undefined;
  return () => {
    pending ??= (async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'smart-agents-worker' } });
      try {
        const { database, started, systemId } = await readSession(sql);
        return { database, started, systemId };
      } finally {
        await sql.end({ timeout: 5 });
      }
    })().catch((error: unknown) => {
      pending = undefined;
      throw new ToolError('network', `could not read the product database's identity: ${(error as Error).message}`);
    });
    return pending;
  };
}
