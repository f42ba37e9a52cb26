import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { dataConverterFromConfig } from '../../src/temporal/data-converter';
import type { Workflows } from '../../workflows/contracts';
import { TEST_PAYLOAD_KEYS } from '../support/payload-keys';

const dir = path.join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

/** Every workflow the worker registers; each must have at least one committed history. */
const workflowTypes: Record<keyof Workflows, true> = {
  runConversationTurn: true, runAgentTask: true, conversationSession: true, ingestKnowledgeDocumentWorkflow: true,
  testTool: true, runEscalation: true, runThresholdMonitor: true, runScheduledRule: true, runWebhookDelivery: true,
};

/**
 * The workers' own data converter (payload codec and failure converter) with the tests' fixed keys: histories
 * recorded before encryption hold plaintext payloads, which the codec passes through, and histories recorded
 * since are encrypted with the test keys, which it opens. Either way replay runs what a production worker runs.
 */
const dataConverter = dataConverterFromConfig(loadConfig({ TEMPORAL_PAYLOAD_KEYS: TEST_PAYLOAD_KEYS }));

const workflowTypeOf = (file: string): string =>
  JSON.parse(readFileSync(path.join(dir, file), 'utf8')).events[0].workflowExecutionStartedEventAttributes.workflowType.name;

/**
 * Committed histories of real executions of every workflow, recorded by the tests that run them (refresh
 * with `RECORD_HISTORIES=1 npx vitest run <test file>`; grep test/ for recordHistory to find them).
 * `v1-*` were recorded before tools, knowledge and artifacts existed; keeping them proves that turns
 * started by an older worker still finish on the current code. `v2-turn-*` were recorded before a turn's first
 * step became one activity (`answerTurn`): the `startTurn` and `completeTurn` local activities, two patch markers.
 * A change to the workflow code that would break running executions fails here with a nondeterminism error.
 * `encrypted-*` were recorded with payload encryption on (the tests' keys), the rest before it.
 */
describe('workflow replay', () => {
  it('has a history of every workflow', () => {
    const recorded = new Set(files.map(workflowTypeOf));
    expect(Object.keys(workflowTypes).filter((type) => !recorded.has(type))).toEqual([]);
  });

  it.each(files)('replays %s deterministically', async (file) => {
    const history = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') }, dataConverter }, history, file),
    ).resolves.toBeUndefined();
  });
});
