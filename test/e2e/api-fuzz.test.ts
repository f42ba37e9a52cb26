import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { ensureDatabase, runMigrations } from '../../src/db/migrate';
import { createDb, type DbHandle } from '../../src/db/client';
import { apiClient } from '../support/http';
import { deeplyNestedJson, generate, mutate, pathValue, prng, queryValue, type Rng, type Schema } from '../support/fuzz';
import { startGateway, temporalClient, testConfig, testProject } from '../support/stack';

/**
 * Seeded, bounded fuzzing of every operation in `/openapi.json` against the real gateway and a database of
 * its own. Two properties must hold for every request, whatever it carries: the answer is never a 5xx (and
 * always JSON), and a refused (4xx) request writes nothing. Writes are seen by a trigger on every table that
 * appends to an audit table, so a write that a 4xx left behind is caught even if the row looks harmless.
 * `FUZZ_SEED` and `FUZZ_PER_OPERATION` reproduce or widen a run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const PER_OPERATION = Number(process.env.FUZZ_PER_OPERATION ?? 30);
const REQUEST_TIMEOUT_MS = 15_000;

const AUDIT_SQL = `
create table fuzz_audit (id bigserial primary key, tbl text not null, op text not null);
create function fuzz_audit_row() returns trigger language plpgsql as $$
begin
  -- Authentication stamps api_key.last_used_at at most once a minute on any request, refused or not.
  if tg_table_name = 'api_key' and tg_op = 'UPDATE' and (to_jsonb(new) - 'last_used_at' - 'updated_at') = (to_jsonb(old) - 'last_used_at' - 'updated_at') then
    return null;
  end if;
  insert into fuzz_audit (tbl, op) values (tg_table_name, tg_op);
  return null;
end $$;
do $$ declare t text; begin
  for t in select tablename from pg_tables where schemaname = 'public' and tablename <> 'fuzz_audit' loop
    execute format('create trigger fuzz_audit after insert or update or delete on %I for each row execute function fuzz_audit_row()', t);
  end loop;
end $$;`;

let db: DbHandle;
let audit: postgres.Sql;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let dropDatabase: () => Promise<void>;

beforeAll(async () => {
  const url = new URL(inject('databaseUrl'));
  const name = `sao_fuzz_${process.pid}_${randomBytes(4).toString('hex')}`;
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  await runMigrations(url.toString());
  audit = postgres(url.toString(), { max: 1, onnotice: () => {} });
  await audit.unsafe(AUDIT_SQL);
  const config = testConfig({ DATABASE_URL: url.toString(), TURN_WAIT_MS: '0' });
  db = createDb(config.DATABASE_URL, { max: 5, appName: 'fuzz-gateway' });
  temporal = await temporalClient(config);
  gateway = await startGateway(config, db, temporal.client);
  dropDatabase = async () => {
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.end();
  };
});

afterAll(async () => {
  await gateway?.close();
  await temporal?.close();
  await db?.close();
  await audit?.end();
  await dropDatabase?.();
});

/** Real rows of two projects, so generated ids reach the code paths behind the not-found checks. */
async function seedWorld() {
  const mine = await testProject(db, 'fuzz-mine');
  const theirs = await testProject(db, 'fuzz-theirs');
  const ids: string[] = [];
  const foreign: string[] = [];
  for (const [project, out] of [[mine, ids], [theirs, foreign]] as const) {
    const call = apiClient(gateway.url, project.adminKey);
    const made = async (path: string, body: unknown) => {
      const res = await call('POST', path, body);
      if (res.status >= 300) throw new Error(`seeding ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      out.push(res.body.id);
      return res.body.id as string;
    };
    const agent = await made('/v1/agents', { name: 'fuzz agent', goal: 'answer' });
    await made('/v1/conversations', { agentId: agent });
    const tool = await made('/v1/tools', { name: 'fuzz_tool', category: 'action', toolType: 'api', inputSchema: { type: 'object' }, config: { url: 'https://example.com/x', method: 'GET' } });
    await call('POST', `/v1/agents/${agent}/tools`, { toolId: tool });
    const kb = await made('/v1/knowledge-bases', { name: 'fuzz kb' });
    await made(`/v1/knowledge-bases/${kb}/documents`, { title: 'doc', content: 'some text' });
    await made('/v1/users', { name: 'fuzz user', email: `fuzz-${randomBytes(3).toString('hex')}@example.com` });
    await made('/v1/escalation-templates', { name: 'fuzz template', messageType: 'email', subject: 'S {{ agent.name }}', body: 'B' });
  }
  return { key: mine.adminKey, ids, foreign };
}

interface Operation {
  method: string;
  path: string;
  op: Schema;
}

function operations(doc: Schema): Operation[] {
  return Object.entries(doc.paths as Record<string, Record<string, Schema>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

/** One generated request: usually valid-looking with one thing broken, sometimes broken at the transport. */
function buildRequest(doc: Schema, { method, path, op }: Operation, rng: Rng, world: { ids: string[]; foreign: string[] }) {
  const params = (op.parameters ?? []) as Schema[];
  let url = path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const p = params.find((x) => x.in === 'path' && x.name === name);
    if (p?.schema?.type === 'integer' && rng.chance(0.5)) return String(rng.int(5));
    return pathValue(rng, world.ids, world.foreign);
  });
  const query = new URLSearchParams();
  for (const p of params.filter((x) => x.in === 'query')) {
    if (!rng.chance(0.4)) continue;
    for (const v of queryValue(doc, p.schema, rng, world.ids)) query.append(p.name, v);
  }
  if ([...query].length > 0) url += `?${query}`;
  const headers: Record<string, string> = {};
  if (params.some((x) => x.in === 'header' && x.name === 'idempotency-key') && rng.chance(0.3)) {
    headers['idempotency-key'] = rng.pick(['k1', 'a'.repeat(500), 'a\u00e9', '%00']);
  }
  const bodySchema = op.requestBody?.content?.['application/json']?.schema as Schema | undefined;
  let body: string | Buffer | undefined;
  if (bodySchema || method !== 'GET') {
    const valid = generate(doc, bodySchema ?? { type: 'object' }, rng, world.ids);
    const value = rng.chance(0.2) ? valid : mutate(valid, rng);
    body = JSON.stringify(value) ?? 'null';
    headers['content-type'] = 'application/json';
    const transport = rng.next();
    if (transport < 0.03) {
      headers['content-encoding'] = rng.pick(['gzip', 'br', 'deflate']);
      body = randomBytesFrom(rng, 64);
    } else if (transport < 0.05) {
      body = body.slice(0, Math.max(1, body.length - 3));
    } else if (transport < 0.06) {
      body = deeplyNestedJson(5000 + rng.int(20_000));
    } else if (transport < 0.08) {
      headers['content-type'] = rng.pick(['text/plain', 'multipart/form-data', 'application/json; charset=utf-7', 'application/x-www-form-urlencoded']);
    }
  }
  return { method, url, headers, body };
}

function randomBytesFrom(rng: Rng, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => rng.int(256)));
}

async function send(key: string, req: ReturnType<typeof buildRequest>) {
  const res = await fetch(gateway.url + req.url, {
    method: req.method,
    headers: { authorization: `Bearer ${key}`, ...req.headers },
    body: req.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

const auditMark = async () => Number((await audit`select coalesce(max(id), 0) as id from fuzz_audit`)[0]!.id);

describe('API fuzzing from the OpenAPI document', () => {
  it('never answers 5xx or non-JSON, and a refused request writes nothing', async () => {
    const world = await seedWorld();
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as Schema;
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(80);
    const rng = prng(SEED);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    for (let round = 0; round < PER_OPERATION; round++) {
      for (const operation of ops) {
        const req = buildRequest(doc, operation, rng, world);
        const before = await auditMark();
        let res: Awaited<ReturnType<typeof send>>;
        try {
          res = await send(world.key, req);
        } catch (err) {
          failures.push(`${req.method} ${req.url.slice(0, 120)}: no answer (${(err as Error).message})`);
          continue;
        }
        sent++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const where = `${req.method} ${operation.path} -> ${req.url.slice(0, 100)} [${res.status}]`;
        if (res.status >= 500) failures.push(`${where}: ${res.text.slice(0, 160)}`);
        else if (res.status >= 400) {
          if (!(res.json as { error?: { code?: unknown } })?.error?.code) failures.push(`${where}: not a JSON error: ${res.text.slice(0, 100)}`);
          const after = await auditMark();
          if (after !== before) {
            const rows = await audit`select tbl, op from fuzz_audit where id > ${before} order by id`;
            failures.push(`${where}: refused but wrote ${rows.map((r) => `${r.op} ${r.tbl}`).join(', ')}`);
          }
        }
      }
    }
    if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, failures.join('\n'));
    console.info(`fuzz seed ${SEED}: ${sent} requests over ${ops.length} operations; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect(failures.slice(0, 40), `${failures.length} failures (seed ${SEED})`).toEqual([]);
    // The generator must reach past authentication and validation, or the run proves little.
    expect([...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0)).toBeGreaterThan(sent / 20);
  }, 600_000);
});
