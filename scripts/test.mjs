#!/usr/bin/env node
// `npm test`: installs what is missing (node_modules, the pinned Temporal CLI), then runs every vitest
// project: unit, integration and end-to-end. Extra arguments go to vitest (e.g. `npm test -- --project unit`).
import { ensureTemporalCli } from './ensure-temporal.mjs';
import { ensureNodeModules, projectRoot, run } from './lib/project.mjs';

await ensureNodeModules();
const cli = await ensureTemporalCli();
const code = await run(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)], {
  cwd: projectRoot,
  env: { ...process.env, TEMPORAL_CLI: cli },
});
process.exit(code);
