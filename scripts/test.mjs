#!/usr/bin/env node
// `npm test`: installs what is missing (node_modules, the pinned Temporal CLI, the pgvector extension), then
// runs every vitest project: unit, integration and end-to-end. Extra arguments go to vitest (e.g. `npm test -- --project unit`).
import { ensurePgvector } from './ensure-pgvector.mjs';
import { ensureTemporalCli } from './ensure-temporal.mjs';
import { ensureNodeModules, projectRoot, run } from './lib/project.mjs';
import { ensureSupportedNode } from './lib/node-runtime.mjs';

// First of all: on a Node older than 24 this fetches Node 24 once and re-runs this script under it.
await ensureSupportedNode();

await ensureNodeModules();
const cli = await ensureTemporalCli();
// Hybrid-search tests run only where the extension exists; under CI this throws rather than skip them.
const pgvector = await ensurePgvector();
const node = (script, args) => run(process.execPath, [script, ...args], { cwd: projectRoot });
// A plain `npm test` also type-checks and lints (workflow determinism rules live in the lint config).
if (process.argv.length === 2) {
  for (const [name, script, args] of [
    ['typecheck', 'node_modules/typescript/bin/tsc', ['--noEmit', '-p', 'tsconfig.json']],
    ['lint', 'node_modules/eslint/bin/eslint.js', ['.']],
  ]) {
    process.stderr.write(`> ${name}\n`);
    const status = await node(script, args);
    if (status !== 0) process.exit(status);
  }
}
const code = await run(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], {
  cwd: projectRoot,
  env: { ...process.env, TEMPORAL_CLI: cli, PGVECTOR_AVAILABLE: pgvector.available ? '1' : '0' },
});
process.exit(code);
