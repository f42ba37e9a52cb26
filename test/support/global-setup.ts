import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { ensureDatabase, runMigrations } from '../../src/db/migrate';
import { workflowsPath } from '../../src/worker-runtime';
import { failureConverterPath } from '../../src/temporal/data-converter';
import { searchAttributes } from '../../workflows/contracts/index';
import { ensureTemporalCli } from '../../scripts/ensure-temporal.mjs';
import { devServerDynamicConfigArgs } from '../../scripts/lib/dev-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
  }
}

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * One Temporal dev server (the project's own CLI binary, on a free port) and one freshly migrated
 * database per test run, so two runs on one machine never share state.
 */
export default async function setup(project: TestProject) {
  const cli: string = await ensureTemporalCli();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      searchAttributes: Object.values(searchAttributes),
      extraArgs: devServerDynamicConfigArgs(),
    },
  });

  const dbName = `sao_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  await ensureDatabase(url.toString());
  await runMigrations(url.toString());

  const bundleDir = mkdtempSync(path.join(tmpdir(), 'sao-bundle-'));
  // With the failure converter the workers use (src/temporal/data-converter.ts): workflow failures are encoded too.
  const bundle = await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quietLogger });
  const bundlePath = path.join(bundleDir, 'workflows.js');
  writeFileSync(bundlePath, bundle.code);

  project.provide('temporalAddress', env.address);
  project.provide('databaseUrl', url.toString());
  project.provide('workflowBundlePath', bundlePath);

  return async () => {
    await env.teardown();
    rmSync(bundleDir, { recursive: true, force: true });
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
  };
}

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
