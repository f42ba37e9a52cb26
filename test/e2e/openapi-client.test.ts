import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, temporalClient, testConfig, testDb, testProject } from '../support/stack';

/*
 * What an API consumer does with /openapi.json: generate types with openapi-typescript, write a client on
 * openapi-fetch, compile it with the TypeScript compiler (strict) and call the gateway with it.
 */

const root = path.join(__dirname, '../..');

// Written to disk and compiled as a consumer's own code; `paths` comes from the generated file.
const clientSource = `
import createClient from 'openapi-fetch';
import type { paths } from './api';

export async function createAndReadAgent(baseUrl: string, apiKey: string): Promise<{ id: string; name: string; status: number }> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${apiKey}\` } });
  const created = await client.POST('/v1/agents', { body: { name: 'typed client', goal: 'answer from a generated client' } });
  if (!created.data) throw new Error(\`create answered \${created.response.status}: \${JSON.stringify(created.error)}\`);
  const read = await client.GET('/v1/agents/{id}', { params: { path: { id: created.data.id } } });
  if (!read.data) throw new Error(\`get answered \${read.response.status}\`);
  return { id: read.data.id, name: read.data.name, status: read.response.status };
}
`;

const config = testConfig();
const db = testDb(config);
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let dir: string;

beforeAll(async () => {
  temporal = await temporalClient(config);
  gateway = await startGateway(config, db, temporal.client);
  dir = mkdtempSync(path.join(os.tmpdir(), 'sao-client-'));
  // The consumer's project resolves openapi-fetch and @types/node from ours.
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
});

afterAll(async () => {
  await gateway?.close();
  await temporal?.close();
  await db.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('a client generated from /openapi.json compiles and calls the gateway', async () => {
  const document = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as Parameters<typeof openapiTS>[0];
  writeFileSync(path.join(dir, 'api.ts'), astToString(await openapiTS(document)));
  writeFileSync(path.join(dir, 'client.ts'), clientSource);
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', lib: ['ES2023', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext', types: [], outDir: 'out', rootDir: '.' },
      files: ['client.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);

  const { adminKey } = await testProject(db, 'openapi-client');
  const client = (await import(path.join(dir, 'out', 'client.js'))) as { createAndReadAgent: (url: string, key: string) => Promise<{ id: string; name: string; status: number }> };
  expect(await client.createAndReadAgent(gateway.url, adminKey)).toMatchObject({ name: 'typed client', status: 200 });
});
