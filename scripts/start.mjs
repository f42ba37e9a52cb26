// `npm start`: the whole product on one machine (Temporal dev server, migrations, demo model, worker,
// gateway), started in dependency order and stopped in reverse order.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureTemporalCli } from './ensure-temporal.mjs';
import { canConnect, capture, ensureNodeModules, projectRoot, run, spawnService, waitForHttp, waitForTcp } from './lib/project.mjs';
import { devServerDynamicConfigArgs } from './lib/dev-server.mjs';
import { ensurePrivateDir, withUmask } from './lib/private-data.mjs';
import { searchAttributeDefinitions } from './lib/search-attributes.mjs';
import { ensureSupportedNode } from './lib/node-runtime.mjs';

// First of all: on a Node older than 24 this fetches Node 24 once and re-runs this script under it.
await ensureSupportedNode();

const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
const env = { ...process.env };
// Services write through pipes (for their [name] prefix) and cannot see this terminal: when there is one, ask
// them for readable lines (pino-pretty) instead of JSON. LOG_FORMAT=json keeps JSON.
if (!env.LOG_FORMAT && process.stdout.isTTY) env.LOG_FORMAT = 'pretty';
const port = Number(env.PORT || 3000);
const services = [];
let stopping = false;
let temporalUiUrl;

const say = (msg) => process.stdout.write(`[start] ${msg}\n`);
const warn = (msg) => process.stderr.write(`[start] ${msg}\n`);

/** Stops app processes first (they drain in-flight work against Temporal), then the infrastructure. */
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  const isApp = (s) => s.name === 'gateway' || s.name === 'worker';
  await Promise.all(services.filter(isApp).map((s) => s.stop(15_000)));
  await Promise.all(services.filter((s) => !isApp(s)).map((s) => s.stop(15_000)));
  process.exit(code);
}

function fail(msg) {
  warn(msg);
  return stopAll(1);
}

function start(name, args, cmd = tsx, opts = {}) {
  const service = spawnService(name, cmd, args, env, opts);
  services.push(service);
  if (stopping) service.kill();
  service.exited.then(({ code, signal, error }) => {
    if (stopping) return;
    const how = error ? `could not be started (${error.message})` : `exited unexpectedly (${signal ?? `exit code ${code}`})`;
    void fail(`${name} ${how}; stopping everything.`);
  });
  return service;
}

async function ensurePortFree(p, what, hint = '') {
  if (await canConnect('127.0.0.1', p)) throw new Error(`port ${p} (${what}) is already in use${hint}`);
}

async function startTemporal() {
  if (env.TEMPORAL_ADDRESS) {
    say(`TEMPORAL_ADDRESS is set: using the Temporal server at ${env.TEMPORAL_ADDRESS}, not starting one.`);
    return;
  }
  const grpcPort = Number(env.TEMPORAL_PORT || 7233);
  const uiPort = Number(env.TEMPORAL_UI_PORT || 8233);
  await ensurePortFree(grpcPort, 'Temporal gRPC', `; set TEMPORAL_PORT, or TEMPORAL_ADDRESS=127.0.0.1:${grpcPort} to use that server`);
  await ensurePortFree(uiPort, 'Temporal UI', '; set TEMPORAL_UI_PORT');
  const cli = await ensureTemporalCli();
  const dataDir = path.join(projectRoot, '.data');
  // temporal.db holds every workflow's history: tool outputs, prompts, answers. Owner-only, and so are the
  // files the server creates later (umask 077 is inherited).
  ensurePrivateDir(dataDir, ['temporal.db', 'temporal.db-wal', 'temporal.db-shm']);
  // Re-registering the search attributes on every start is harmless with a persistent DB (same types).
  // Log level error: at warn the dev server prints a screen of "Failed to poll for task" while it stops.
  wireUiCodec(uiPort);
  const args = [
    'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(grpcPort), '--ui-port', String(uiPort),
    // The UI decrypts payloads through the gateway's codec endpoint (the browser calls it directly).
    '--ui-codec-endpoint', `http://localhost:${port}/codec`,
    '--db-filename', path.join(dataDir, 'temporal.db'), '--namespace', env.TEMPORAL_NAMESPACE || 'default',
    '--log-level', 'error', ...devServerDynamicConfigArgs(),
    ...searchAttributeDefinitions.flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  say(`starting the Temporal dev server on 127.0.0.1:${grpcPort} (state in .data/temporal.db)`);
  withUmask(0o077, () => start('temporal', args, cli));
  await waitForTcp('127.0.0.1', grpcPort, 60_000);
  env.TEMPORAL_ADDRESS = `127.0.0.1:${grpcPort}`;
  temporalUiUrl = `http://localhost:${uiPort}`;
}

/**
 * Holds the database's instance lock for as long as this stack runs (src/cli/hold-instance.ts), so a second
 * `npm start` with the same DATABASE_URL (another checkout, another terminal) is refused with a message
 * naming the first, instead of silently sharing its database.
 */
async function holdDatabase() {
  let ready;
  const held = new Promise((resolve) => (ready = resolve));
  const lock = start('db-lock', ['--import', 'tsx', 'src/cli/hold-instance.ts'], process.execPath, {
    onLine: (line) => line === 'instance lock held' && ready(),
  });
  const exited = lock.exited.then(({ code }) => {
    throw new Error(code === 3 ? 'refusing to start: the database is in use by another `npm start` (see above)' : `the database instance lock could not be taken (exit code ${code})`);
  });
  await Promise.race([held, exited]);
}

async function migrate() {
  say('applying database migrations');
  const code = await run(tsx, ['src/cli/migrate.ts'], { cwd: projectRoot, env });
  if (code !== 0) throw new Error('migrations failed: is Postgres running and DATABASE_URL right? (default postgres://postgres@127.0.0.1:5432/smart_agents)');
}

/** Returns the bootstrap result line: `{ created, projectId, apiKey? }`. */
async function bootstrap() {
  const { code, stdout } = await capture(tsx, ['src/cli/bootstrap.ts'], { cwd: projectRoot, env });
  if (code !== 0) throw new Error(`bootstrap failed with exit code ${code}`);
  for (const line of stdout.split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line);
      if (parsed && typeof parsed.created === 'boolean' && parsed.projectId) return parsed;
    } catch {
      // not the result line
    }
  }
  throw new Error(`bootstrap printed no result line; its output was:\n${stdout}`);
}

async function startDemoModel() {
  if (env.OPENAI_API_KEY || env.OPENAI_BASE_URL) return false;
  const demoPort = Number(env.DEMO_LLM_PORT || 11435);
  await ensurePortFree(demoPort, 'demo model', '; set DEMO_LLM_PORT');
  start('demo-model', ['src/llm/demo-server.ts']);
  await waitForTcp('127.0.0.1', demoPort, 60_000);
  env.OPENAI_BASE_URL = `http://127.0.0.1:${demoPort}/v1`;
  return true;
}

function banner({ boot, demo }) {
  const api = `http://localhost:${port}`;
  const key = boot.created ? boot.apiKey : '<your API key>';
  const lines = [
    '',
    '================================================================================',
    ' Smart Agents Orchestrator is running',
    `   API          ${api}`,
    `   OpenAPI      ${api}/openapi.json`,
    `   Metrics      ${api}/metrics (gateway), http://localhost:${env.WORKER_METRICS_PORT}/metrics (worker)`,
    `   Temporal UI  ${temporalUiUrl ?? "your Temporal cluster's UI"}${temporalUiUrl ? ' (payloads decrypted by the gateway\'s /codec)' : ''}`,
    `   Codec (CLI)  temporal workflow show … --codec-endpoint ${api}/codec --codec-auth "Bearer $(npm run -s operator-key)"`,
    ...(boot.created
      ? [`   API key      ${boot.apiKey}   (admin key, shown only now: store it)`]
      : [
          '   API key      shown at first start; create another with an admin key:',
          `                curl -s ${api}/v1/api-keys -H 'Authorization: Bearer <admin key>' -H 'Content-Type: application/json' \\`,
          `                  -d '{"name":"my app","permissions":["agents:read","agents:write","conversations:read","conversations:write"]}'`,
        ]),
    demo
      ? '   Model        DEMO model (canned answers, not a real LLM)'
      : `   Model        ${env.OPENAI_MODEL || 'gpt-4o-mini'} at ${env.OPENAI_BASE_URL ?? 'api.openai.com'}`,
    '',
    ' Create an agent:',
    `   curl -s ${api}/v1/agents -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
    `     -d '{"name":"Support bot","goal":"Answer customer questions","systemPrompt":"You are a helpful support agent."}'`,
    '',
    ' Ctrl-C stops everything.',
    '================================================================================',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

/**
 * Tool credentials are sealed with TOOL_CREDENTIALS_KEYS. On one machine without it, a key is made once
 * and kept in .data/ (owner-only), so credentials saved today still open after a restart.
 */
function ensureCredentialKey() {
  if (env.TOOL_CREDENTIALS_KEYS) return;
  const file = path.join(projectRoot, '.data', 'tool-credentials.key');
  ensurePrivateDir(path.dirname(file));
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  env.TOOL_CREDENTIALS_KEYS = `local:${readFileSync(file, 'utf8').trim()}`;
  say('tool credentials are sealed with the local key in .data/tool-credentials.key (set TOOL_CREDENTIALS_KEYS in production)');
}

/**
 * Temporal payloads (prompts, messages, answers, tool arguments) are encrypted with TEMPORAL_PAYLOAD_KEYS. On
 * one machine without it, a key is made once and kept in .data/ (owner-only): it must outlive restarts, or the
 * histories in .data/temporal.db could no longer be read and a turn in flight could not resume.
 */
function ensurePayloadKey() {
  if (env.TEMPORAL_PAYLOAD_KEYS || env.TEMPORAL_PAYLOAD_ENCRYPTION === 'off') return;
  const file = path.join(projectRoot, '.data', 'temporal-payload.key');
  ensurePrivateDir(path.dirname(file));
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  env.TEMPORAL_PAYLOAD_KEYS = `local:${readFileSync(file, 'utf8').trim()}`;
  say('Temporal payloads are encrypted with the local key in .data/temporal-payload.key (set TEMPORAL_PAYLOAD_KEYS in production)');
}

/**
 * The dev server's UI (no sign-in, so it sends no API key) may call the gateway's codec endpoint from its own
 * origin over loopback (TEMPORAL_CODEC_TRUST_LOCAL_UI, refused in production), so it shows plaintext at once.
 */
function wireUiCodec(uiPort) {
  env.TEMPORAL_UI_ORIGIN ||= `http://localhost:${uiPort},http://127.0.0.1:${uiPort}`;
  if (env.NODE_ENV !== 'production') env.TEMPORAL_CODEC_TRUST_LOCAL_UI ||= 'true';
}

/**
 * Acknowledge links in notifications are signed with ESCALATION_LINK_SECRET; locally one is made once and
 * kept in .data/, and links point at this gateway unless PUBLIC_BASE_URL says otherwise.
 */
function ensureEscalationLinks() {
  env.PUBLIC_BASE_URL ||= `http://localhost:${port}`;
  if (env.ESCALATION_LINK_SECRET) return;
  const file = path.join(projectRoot, '.data', 'escalation-link.key');
  ensurePrivateDir(path.dirname(file));
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  env.ESCALATION_LINK_SECRET = readFileSync(file, 'utf8').trim();
}

async function main() {
  await ensureNodeModules();
  ensureCredentialKey();
  ensurePayloadKey();
  ensureEscalationLinks();
  env.SAO_CHECKOUT = projectRoot;
  await holdDatabase();
  await startTemporal();
  await migrate();
  const boot = await bootstrap();
  const demo = await startDemoModel();
  if (demo) {
    say('******************************************************************************');
    say('* Using the DEMO model server: answers are canned, this is NOT a real LLM.    *');
    say('* For a real model set OPENAI_API_KEY (and OPENAI_BASE_URL for other          *');
    say('* OpenAI-compatible servers, e.g. http://127.0.0.1:11434/v1 for Ollama).      *');
    say('******************************************************************************');
  }
  await ensurePortFree(port, 'gateway', '; set PORT');
  // The worker's GET /metrics (its own and the Temporal SDK's); the gateway serves its own on PORT.
  env.WORKER_METRICS_PORT ||= '9464';
  await ensurePortFree(Number(env.WORKER_METRICS_PORT), 'worker metrics', '; set WORKER_METRICS_PORT');
  // Node itself with tsx as a loader, not the tsx CLI: that CLI is a second process that can die alone.
  start('worker', ['--import', 'tsx', 'src/worker.ts'], process.execPath);
  start('gateway', ['--import', 'tsx', 'src/server.ts'], process.execPath);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 90_000);
  banner({ boot, demo });
}

let firstSignalAt = 0;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    // Under `npm start` one Ctrl-C can arrive twice (from the terminal and forwarded by npm), so only a
    // signal a moment after the first one means "force".
    if (firstSignalAt && Date.now() - firstSignalAt < 1000) return;
    if (firstSignalAt) {
      warn('second signal: killing everything now');
      services.forEach((s) => s.kill());
      process.exit(130);
    }
    firstSignalAt = Date.now();
    say(`${sig}: stopping gateway and worker, then the rest (again to force)`);
    void stopAll(0);
  });
}
// Last resort if this process dies abruptly: never leave detached services behind.
process.on('exit', () => services.forEach((s) => s.kill()));
// `kill <npm pid>` ends npm and its shell but not us (only Ctrl-C reaches the whole process group):
// when our parent goes away, shut down as if signalled.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent && !stopping) {
    warn('parent process exited: stopping everything');
    void stopAll(0);
  }
}, 1000).unref();

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
