// Preloaded into the services npm scripts start (`node --import ./scripts/lib/exit-with-parent.mjs …`): when
// whatever started the service dies, even by SIGKILL, the service stops too instead of running on as an
// orphan. It sends itself SIGTERM, so the service's own graceful shutdown runs (the worker drains its tasks).
import { watchParent } from './parent-watch.mjs';

watchParent(() => {
  process.stderr.write('the process that started this one exited: shutting down\n');
  process.kill(process.pid, 'SIGTERM');
});
