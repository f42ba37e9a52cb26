import { execFile } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.join(__dirname, '..', '..');

/**
 * Calls `exportName` of a TypeScript module (path from the repository root) with JSON `args` in a fresh
 * node child, with tsx as its loader, and returns its JSON result. For code that could stall
 * synchronously (a backtracking regex): inside the test process nothing can interrupt it, and the run
 * would freeze for hours; here the child is killed at `deadlineMs` and the test fails saying so. The
 * deadline only catches a hang: keep it far above any normal run.
 */
export function callInChild(modulePath: string, exportName: string, args: unknown[], deadlineMs = 60_000): Promise<unknown> {
  const script = `Promise.resolve(require(${JSON.stringify(`./${modulePath}`)})[${JSON.stringify(exportName)}](...${JSON.stringify(args)}))
    .then((result) => process.stdout.write(JSON.stringify(result ?? null)))`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repoRoot, timeout: deadlineMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error?.killed) reject(new Error(`${exportName} did not finish within ${deadlineMs} ms (it stalled)`));
      else if (error) reject(new Error(`${exportName} failed in the child: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}
