import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/gateway/app';
import type { GatewayDeps } from '../../src/gateway/deps';
import { deriveOperationId } from '../../src/gateway/operation-ids';
import { createLogger } from '../../src/logger';

const root = path.join(__dirname, '../..');

type Schema = Record<string, unknown> & { $ref?: string; type?: string | string[]; anyOf?: Schema[]; oneOf?: Schema[]; items?: Schema };
interface Document {
  info: { license?: { name: string; identifier?: string; url?: string } };
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, { operationId?: string }>>;
  components: { schemas: Record<string, Schema> };
}

/** The document as the gateway serves it; building the routes touches none of the dependencies. */
async function servedDocument(): Promise<Document> {
  const deps = { db: {}, temporal: {}, logger: createLogger('silent'), streams: {}, keyring: null, settings: { taskQueue: 'unused', turnWaitMs: 0 } };
  const app = createApp(deps as unknown as GatewayDeps);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as Document;
  } finally {
    server.close();
  }
}

let doc: Document;
let dir: string;
beforeAll(async () => {
  doc = await servedDocument();
  dir = mkdtempSync(path.join(os.tmpdir(), 'sao-openapi-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const operations = () =>
  Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${p}`, op })));

describe('the API document', () => {
  it('names every operation once, in camelCase', () => {
    const ids = operations().map(({ key, op }) => [key, op.operationId] as const);
    expect(ids.filter(([, id]) => !id || !/^[a-z][A-Za-z0-9]*$/.test(id))).toEqual([]);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
  });

  it('keeps the recorded operationIds: a client method is never renamed (add new operations to the fixture)', () => {
    const recorded = JSON.parse(readFileSync(path.join(root, 'test/fixtures/openapi-operation-ids.json'), 'utf8')) as Record<string, string>;
    const current = Object.fromEntries(operations().map(({ key, op }) => [key, op.operationId]));
    expect(Object.fromEntries(Object.keys(recorded).map((key) => [key, current[key]]))).toEqual(recorded);
  });

  it('derives ids from method and path only', () => {
    expect(deriveOperationId('get', '/v1/conversations/{id}/messages')).toBe('listConversationMessages');
    expect(deriveOperationId('post', '/v1/agents')).toBe('createAgent');
    expect(deriveOperationId('get', '/v1/webhooks/{id}/deliveries')).toBe('listWebhookDeliveries');
    expect(deriveOperationId('delete', '/v1/agents/{id}/tools/{toolId}')).toBe('deleteAgentTool');
    expect(deriveOperationId('post', '/v1/conversations/{id}/turns/{index}/cancel')).toBe('cancelConversationTurn');
    expect(deriveOperationId('put', '/v1/agents/{id}/config/{key}')).toBe('setAgentConfig');
  });

  it('has a relative server and a licence', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(doc.info.license?.name).toBeTruthy();
  });

  it('has no list whose items may be null', () => {
    const schemas = doc.components.schemas;
    const resolve = (s: Schema): Schema => (s.$ref ? resolve(schemas[s.$ref.split('/').pop()!]!) : s);
    const allowsNull = (s: Schema): boolean => {
      const r = resolve(s);
      return r.type === 'null' || (Array.isArray(r.type) && r.type.includes('null')) || [...(r.anyOf ?? []), ...(r.oneOf ?? [])].some(allowsNull);
    };
    const nullableItems: string[] = [];
    const walk = (node: unknown, at: string): void => {
      if (!node || typeof node !== 'object') return;
      const s = node as Schema;
      if (s.items && !Array.isArray(s.items) && allowsNull(s.items)) nullableItems.push(at);
      for (const [key, child] of Object.entries(s)) walk(child, `${at}/${key}`);
    };
    walk(doc, '#');
    expect(nullableItems).toEqual([]);
  });

  it('passes `redocly lint` (recommended rules) with no errors, offline', () => {
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const cli = path.join(root, 'node_modules/@redocly/cli/bin/cli.js');
    // Telemetry off and no update check: the lint reads the file and nothing else.
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };
    const result = spawnSync(process.execPath, [cli, 'lint', file, '--format=json', '--max-problems=1000'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    const report = JSON.parse(result.stdout) as { totals: { errors: number }; problems: Array<{ ruleId: string; severity: string; message: string }> };
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(result.status).toBe(0);
  });
});
