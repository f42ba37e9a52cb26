/**
 * The child side of {@link runInSandbox}: plain JavaScript run with `node -e`, so it works the same under tsx,
 * vitest and compiled output. A string rather than a file because `tsc` copies no `.js` files into `dist`.
 *
 * Protocol: the parent sends one IPC message `{ entry, input, maxOutputBytes, cpuMs?, execArgv }`; the child
 * writes one JSON document to fd 3 (`{ ok: true, value }`, `{ ok: false, error: { name, message } }` or
 * `{ ok: false, limit: 'output', bytes }`) and exits. fd 3 is a plain pipe, not the IPC channel, so the parent
 * can count bytes as they arrive and stop reading at its own cap instead of buffering whatever comes.
 *
 * It dies with the parent: an idle child sees the IPC channel close ('disconnect'); a busy one is stopped by
 * RLIMIT_CPU (set by the parent through prlimit), or, where prlimit is missing, by a watchdog thread that
 * reads the process's CPU time and kills it, since a synchronous loop never lets the event loop see the
 * disconnect.
 */
export const CHILD_RUNNER_SOURCE = String.raw`'use strict';
const net = require('node:net');
const { pathToFileURL } = require('node:url');
const { Worker } = require('node:worker_threads');
process.on('disconnect', () => process.exit(70));
const out = new net.Socket({ fd: 3, readable: false, writable: true });
out.on('error', () => process.exit(71)); // the parent stopped reading: nobody wants the result
let replied = false;
function reply(message, maxOutputBytes) {
  if (replied) return;
  replied = true;
  let json;
  try {
    json = JSON.stringify(message);
  } catch (error) {
    json = JSON.stringify({ ok: false, error: { name: 'TypeError', message: 'the result is not JSON-serialisable: ' + String(error && error.message) } });
  }
  if (json === undefined) json = JSON.stringify({ ok: true, value: null });
  const bytes = Buffer.byteLength(json);
  if (bytes > maxOutputBytes) json = JSON.stringify({ ok: false, limit: 'output', bytes });
  out.end(json, () => process.exit(0));
}
function watchCpu(cpuMs) {
  const source = "const { workerData } = require('node:worker_threads');" +
    "setInterval(() => { const u = process.cpuUsage(); if ((u.user + u.system) / 1000 > workerData.cpuMs) process.kill(process.pid, 'SIGXCPU'); }, 50);";
  new Worker(source, { eval: true, workerData: { cpuMs } }).unref();
}
async function load(entry) {
  if (entry.source !== undefined) return (input) => new Function('input', 'require', entry.source)(input, require);
  const mod = await import(pathToFileURL(entry.module).href);
  const fn = mod[entry.exportName] ?? (mod.default && mod.default[entry.exportName]);
  if (typeof fn !== 'function') throw new Error(entry.module + ' exports no function ' + entry.exportName);
  return fn;
}
process.once('message', async (request) => {
  if (request.cpuMs) watchCpu(request.cpuMs);
  try {
    const fn = await load(request.entry);
    reply({ ok: true, value: await fn(request.input) }, request.maxOutputBytes);
  } catch (error) {
    const name = error && typeof error.name === 'string' ? error.name : 'Error';
    reply({ ok: false, error: { name, message: String(error && error.message !== undefined ? error.message : error) } }, request.maxOutputBytes);
  }
});
`;
