/**
 * The code that runs inside each isolate before the tool's: it removes the globals a tool has no use for and
 * that reach outside the V8 heap or the isolate's one thread (`WebAssembly` memory is not counted against the
 * isolate's memory limit; `SharedArrayBuffer` and `Atomics` are a high-resolution timer and a way to block;
 * `console` is V8's inspector console), then evaluates to one function, `call`, the only thing the host
 * touches. The tool's code is compiled by `AsyncFunction(args, code)`, which parses it as a function body on
 * its own, so it cannot close the wrapper and rewrite the harness. Everything the harness uses is captured
 * before the tool runs, and its state lives in this closure, out of the tool's reach. The harness is strict
 * code, so `CallSite#getFunction` (`Error.prepareStackTrace`) hands the tool no reference to `call`, and
 * `start` works once, so nothing can raise the result's size cap.
 *
 * `call('start', code, argsJson, maxChars)` starts the tool; `call('read')` returns one tagged string:
 * `o<json>` (a result of at most `maxChars` UTF-16 units), `e<message>` (the code threw; at most 2000 units),
 * `s<message>` (a syntax error), `t` (result too large) or `p` (the promise has not settled). Only that
 * string primitive leaves the isolate.
 */
const HARNESS = String.raw`(() => {
  'use strict';
  for (const name of ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'console']) delete globalThis[name];
  const stringify = JSON.stringify, parse = JSON.parse, apply = Reflect.apply, then = Promise.prototype.then;
  const AsyncFunction = (async () => {}).constructor, toString = String, slice = String.prototype.slice;
  const cut = (text) => apply(slice, text, [0, 2000]);
  const describe = (error) => {
    try {
      if (error !== null && typeof error === 'object' && 'message' in error) return toString(error.name || 'Error') + ': ' + toString(error.message);
      return 'Thrown: ' + toString(error);
    } catch { return 'the thrown value could not be described'; }
  };
  let report = 'p';
  let max = 0;
  const fail = (error) => { report = 'e' + cut(describe(error)); };
  const done = (value) => {
    try {
      const json = stringify(value) ?? 'null';
      report = json.length > max ? 't' : 'o' + json;
    } catch (error) { report = 'e' + cut('the result is not JSON-serialisable: ' + describe(error)); }
  };
  return (op, code, argsJson, maxChars) => {
    if (op !== 'start') return report;
    if (max !== 0) return;
    max = maxChars;
    let tool;
    try { tool = new AsyncFunction('args', code); } catch (error) { report = 's' + cut(describe(error)); return; }
    try { apply(then, tool(parse(argsJson)), [done, fail]); } catch (error) { fail(error); }
  };
})()`;

/**
 * The sandbox host: a plain Node child process (started by `isolate-pool.ts`, no tsx, no environment) that
 * runs one call at a time, each in a fresh isolated-vm isolate disposed afterwards. Its main thread only
 * moves messages; the tool's code runs on isolated-vm's own thread under the isolate's memory limit and the
 * call's deadline (`timeout` on each entry into the isolate, plus a timer that disposes the isolate, which
 * also stops a promise job loop or a hung native call). It exits when the parent's IPC channel closes, so it
 * never outlives the worker, and kills itself when isolated-vm reports that V8 lost control of an isolate.
 * Before anything else it closes the file descriptors it inherited beyond stdio and the IPC channel.
 *
 * Request: `{ code, argsJson, memoryMb, timeoutMs, maxResultChars }`. Reply: `{ ok: true, json }` or
 * `{ ok: false, kind, message }` with kind `invalid_input | client_error | timeout | forbidden | server_error`.
 */
export function isolateHostSource(isolatedVmPath: string): string {
  return String.raw`'use strict';
const fs = require('node:fs');
// Descriptors the worker leaked past exec (opened without O_CLOEXEC; Node's own all have it): close them.
for (const fd of fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => fd > 3)) {
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'));
    if (flags && (parseInt(flags[1], 8) & 0o2000000) === 0) fs.closeSync(fd);
  } catch {}
}
const ivm = require(${JSON.stringify(isolatedVmPath)});
const HARNESS = ${JSON.stringify(HARNESS)};
process.on('disconnect', () => process.exit(0));
const fatal = (message) => {
  process.stderr.write('isolated-vm catastrophic error: ' + message + '\n', () => process.kill(process.pid, 'SIGKILL'));
};
function failure(error, isolate) {
  const message = String(error && error.message);
  if (/memory limit/i.test(message)) return { ok: false, kind: 'forbidden', message: 'memory' };
  if (/timed out|disposed/i.test(message) || isolate.isDisposed) return { ok: false, kind: 'timeout', message: 'deadline' };
  return { ok: false, kind: 'server_error', message: 'the sandbox failed: ' + message.slice(0, 500) };
}
async function run(req) {
  const deadline = Date.now() + req.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const isolate = new ivm.Isolate({ memoryLimit: req.memoryMb, onCatastrophicError: fatal });
  // dispose() throws when isolated-vm already disposed the isolate itself (its memory limit): both are fine.
  const dispose = () => { try { if (!isolate.isDisposed) isolate.dispose(); } catch {} };
  const stop = setTimeout(dispose, req.timeoutMs);
  try {
    const context = await isolate.createContext();
    const call = await context.eval(HARNESS, { timeout: left(), reference: true });
    await call.apply(undefined, ['start', req.code, req.argsJson, req.maxResultChars], { timeout: left() });
    const report = await call.apply(undefined, ['read'], { timeout: left(), result: { copy: true } });
    if (typeof report !== 'string') return { ok: false, kind: 'server_error', message: 'the sandbox gave no report' };
    switch (report[0]) {
      case 'o': return { ok: true, json: report.slice(1) };
      case 'e': return { ok: false, kind: 'client_error', message: report.slice(1) };
      case 's': return { ok: false, kind: 'invalid_input', message: report.slice(1) };
      case 't': return { ok: false, kind: 'client_error', message: 'too_large' };
      default: return { ok: false, kind: 'client_error', message: 'the code returned a promise that never settles' };
    }
  } catch (error) {
    return failure(error, isolate);
  } finally {
    clearTimeout(stop);
    dispose();
  }
}
process.on('message', (req) => {
  run(req).then((reply) => process.send(reply), (error) => process.send({ ok: false, kind: 'server_error', message: String(error) }));
});
`;
}
