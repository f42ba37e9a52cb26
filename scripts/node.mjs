#!/usr/bin/env node
// `node scripts/node.mjs <node arguments>`: runs Node with those arguments on Node >= 24, fetching the pinned
// Node into .tools/ first when the machine's is older (see lib/node-runtime.mjs). The npm scripts that run
// the product's code (worker, gateway, migrations, benches) go through it, so they work on such a machine too.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { ensureSupportedNode } from './lib/node-runtime.mjs';
import { watchParent } from './lib/parent-watch.mjs';

await ensureSupportedNode();
const child = spawn(process.execPath, process.argv.slice(2), { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  });
}
// When npm is killed, the child's parent (us) lives on, so the child's own exit-with-parent watch cannot see
// it: we watch our parent and pass it on. If this process is SIGKILLed instead, the child's watch sees it.
watchParent(() => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)));
