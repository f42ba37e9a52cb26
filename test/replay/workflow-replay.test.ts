import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

/**
 * Committed histories of real turn and escalation executions (refresh with `RECORD_HISTORIES=1 npm test -- turn-workflow escalations`).
 * `v1-*` were recorded before tools, knowledge and artifacts existed; keeping them proves that turns
 * started by an older worker still finish on the current code.
 * A change to the workflow code that would break running executions fails here with a nondeterminism error.
 */
describe('workflow replay', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('replays %s deterministically', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history, file),
    ).resolves.toBeUndefined();
  });
});
