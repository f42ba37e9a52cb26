import { ToolError } from '../types.js';

/**
 * Blanks out comments, string literals and quoted identifiers so that a `;` or keyword inside them
 * does not count. Postgres nests block comments, and E'' strings take backslash escapes.
 */
function stripLiterals(query: string): string {
  let out = '';
  for (let i = 0; i < query.length; ) {
    const end = literalEnd(query, i);
    out += end === i ? query[i] : ' ';
    i = end === i ? i + 1 : end;
  }
  return out;
}

/** Where the comment or literal starting at `i` ends, or `i` if none starts there. */
function literalEnd(q: string, i: number): number {
  if (q.startsWith('--', i)) return q.includes('\n', i) ? q.indexOf('\n', i) : q.length;
  if (q.startsWith('/*', i)) return blockCommentEnd(q, i);
  if (q[i] === "'") return quotedEnd(q, i, "'", /[eE]/.test(q[i - 1] ?? ''));
  if (q[i] === '"') return quotedEnd(q, i, '"', false);
  const tag = /\$(?:[A-Za-z_]\w*)?\$/y;
  tag.lastIndex = i;
  const dollar = tag.exec(q)?.[0];
  if (!dollar) return i;
  const close = q.indexOf(dollar, i + dollar.length);
  return close < 0 ? q.length : close + dollar.length;
}

function blockCommentEnd(q: string, start: number): number {
  let depth = 0;
  for (let i = start; i < q.length - 1; i++) {
    if (q.startsWith('/*', i)) depth += 1;
    else if (q.startsWith('*/', i)) depth -= 1;
    else continue;
    if (depth === 0) return i + 2;
    i += 1; // skip the second character of the pair
  }
  return q.length;
}

function quotedEnd(q: string, start: number, quote: string, backslashEscapes: boolean): number {
  for (let i = start + 1; i < q.length; i++) {
    if (backslashEscapes && q[i] === '\\') i += 1;
    else if (q[i] === quote && q[i + 1] === quote) i += 1;
    else if (q[i] === quote) return i + 1;
  }
  return q.length;
}

/**
 * A cheap first gate: one statement that starts as a read. The read-only transaction is the real
 * guarantee (a data-modifying CTE or a writing function passes this check and fails there).
 */
export function assertSingleReadStatement(query: string): void {
  const bare = stripLiterals(query).trim().replace(/;\s*$/, '');
  if (bare.includes(';')) throw new ToolError('forbidden', 'only a single SQL statement is allowed');
  if (!/^\(*\s*(select|with|values|table)\b/i.test(bare)) {
    throw new ToolError('forbidden', 'only SELECT, WITH … SELECT, VALUES or TABLE queries are allowed');
  }
}

/**
 * Functions with effects outside the read-only transaction (files, large objects, other sessions,
 * session-level locks and settings, server administration, connections elsewhere) or that run SQL
 * from a string, where no look at the query could follow.
 */
const dangerous: ReadonlyArray<[RegExp, string]> = [
  [/\blo_(?:import|export|from_bytea|creat|create|open|close|put|get|unlink|truncate|lseek|tell)(?:64)?\b|\blo(?:read|write)\b/, 'large objects'],
  [/\bpg_read_(?:binary_)?file\b|\bpg_ls_\w+|\bpg_stat_file\b|\bpg_file_\w+|\bpg_logdir_ls\b/, 'server files'],
  [/\bpg_(?:terminate|cancel)_backend\b|\bpg_log_backend_memory_contexts\b/, 'other sessions'],
  [/\bpg_(?:try_)?advisory_\w+/, 'advisory locks'],
  [/\bset_config\b|\bpg_reload_conf\b|\bpg_rotate_logfile\b/, 'server or session settings'],
  [/\bpg_(?:switch_wal|create_restore_point|promote|backup_\w+|start_backup|stop_backup|wal_replay_\w+)\b/, 'server administration'],
  [/\bpg_\w*replication_slot\w*|\bpg_logical_\w+/, 'replication'],
  [/\bdblink\w*|\bpostgres_fdw\w*/, 'connections to other servers'],
  // SQL given as text (query_to_xml, ts_stat, ts_rewrite's second form, tablefunc's crosstab, xml2's
  // xpath_table) or built inside the function from names (the *_to_xml family reads whole tables,
  // schemas or databases; connectby): either way nothing a look at the query shows.
  [/\b(?:query|cursor|table|schema|database)_to_xml\w*|\bts_(?:stat|rewrite)\b|\bcrosstab\d*\b|\bconnectby\b|\bxpath_table\b/, 'SQL run from a string'],
  [/\bpg_notify\b/, 'notifications'],
];

/**
 * Refuses queries that name a dangerous function anywhere, string literals included (`query_to_xml`
 * takes SQL as a string). Conservative and bypassable (a function defined in the database can call any
 * of them): the real defences are the role check, the rolled-back transaction and the closed session.
 */
export function assertNoDangerousCalls(query: string): void {
  // U&"\0070g_read_file" spells a name no pattern would see.
  if (/u&"/i.test(query)) throw new ToolError('forbidden', 'database tools may not use Unicode-escaped identifiers');
  const text = query.toLowerCase().replace(/"/g, ''); // "pg_read_file"(…) calls the same function
  for (const [pattern, what] of dangerous) {
    if (pattern.test(text)) throw new ToolError('forbidden', `database tools may not use functions that touch ${what}`);
  }
}
