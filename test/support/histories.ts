import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `RECORD_HISTORIES=1` refreshes the committed histories that `test/replay` runs: the CLI writes the
 * proto-JSON form that `Worker.runReplayHistory` reads back. Without it, nothing happens.
 */
export function recordHistory(address: string, name: string, workflowId: string): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const cli = process.env.TEMPORAL_CLI ?? path.join(__dirname, '..', '..', '.tools', 'bin', 'temporal');
  const json = execFileSync(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--output', 'json']);
  writeFileSync(path.join(__dirname, '..', 'replay', 'histories', `${name}.json`), json);
}
