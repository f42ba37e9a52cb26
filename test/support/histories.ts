import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `RECORD_HISTORIES=1` refreshes the committed histories that `test/replay` runs: the CLI writes the
 * proto-JSON form that `Worker.runReplayHistory` reads back. Without it, nothing happens.
 */
export function recordHistory(address: string, name: string, workflowId: string, options: { closed?: boolean } = {}): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const cli = process.env.TEMPORAL_CLI ?? path.join(__dirname, '..', '..', '.tools', 'bin', 'temporal');
  if (options.closed) {
    // The test saw the workflow's effect (a row, a status) before its last events: wait for it to close,
    // so the history ends with its result. A failed, canceled or timed-out run is a result too.
    try {
      execFileSync(cli, ['workflow', 'result', '--workflow-id', workflowId, '--address', address], { stdio: 'ignore', timeout: 60_000 });
    } catch {
      // the history is recorded as it is
    }
  }
  const json = execFileSync(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--output', 'json']);
  writeFileSync(path.join(__dirname, '..', 'replay', 'histories', `${name}.json`), json);
}

/**
 * {@link recordHistory} of a workflow that may still be running when the test has seen what it checks (a turn
 * answers as soon as its row is final, before its workflow closes): waits for it to close without blocking the
 * event loop, which an in-process worker needs to get there.
 */
export async function recordClosedHistory(address: string, name: string, workflowId: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const cli = process.env.TEMPORAL_CLI ?? path.join(__dirname, '..', '..', '.tools', 'bin', 'temporal');
  await promisify(execFile)(cli, ['workflow', 'result', '--workflow-id', workflowId, '--address', address], { timeout: 60_000 }).catch(() => undefined);
  recordHistory(address, name, workflowId);
}
