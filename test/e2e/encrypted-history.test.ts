import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../../src/temporal/payload-codec';
import { parseKeyring } from '../../src/tools/credentials';
import { payloadsToJson } from '../../src/gateway/codec/payloads';
import { recordClosedHistory } from '../support/histories';
import { decodedHistoryText, historyText } from '../support/history';
import { apiClient } from '../support/http';
import { TEST_PAYLOAD_KEYS } from '../support/payload-keys';
import { ScriptedLlm } from '../support/scripted-llm';
import { startStack, testProject, type Stack } from '../support/stack';
import { ToolServer } from '../support/tool-server';

const UI = 'http://ui.test:8233';
const secrets = {
  prompt: 'PROMPT-you-are-the-lighthouse-keeper-7d1c',
  message: 'MESSAGE-my-boat-is-called-Aurora-52aa',
  argument: 'ARG-Reykjavik-harbour-0b93',
  toolResult: 'TOOL-gale-force-nine-e2f4',
  answer: 'ANSWER-stay-in-port-tonight-9c01',
};
const llm = new ScriptedLlm();
const tools = new ToolServer({ '/weather': () => ({ status: 200, body: { forecast: secrets.toolResult } }) });
let stack: Stack;
let raw: { client: Client; close: () => Promise<void> };

beforeAll(async () => {
  await Promise.all([llm.start(), tools.start()]);
  stack = await startStack({
    OPENAI_BASE_URL: llm.baseUrl, TOOL_NETWORK_ALLOWLIST: `127.0.0.1:${tools.port}`, TURN_WAIT_MS: '30000',
    TEMPORAL_UI_ORIGIN: UI, TEMPORAL_CODEC_TRUST_LOCAL_UI: 'true',
  });
  // A client without the codec: what anyone with access to Temporal (its UI, its database) gets.
  const connection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
  raw = { client: new Client({ connection, namespace: stack.config.TEMPORAL_NAMESPACE }), close: () => connection.close() };
});
afterEach(() => expect(llm.failures).toEqual([]));
afterAll(async () => {
  await raw?.close();
  await stack?.stop();
  await Promise.all([llm.stop(), tools.stop()]);
});

/**
 * What SDK core writes itself, never through a codec, because replay reads it: a patch marker's id and a local
 * activity marker's bookkeeping (seq, attempt, activity type, times). Neither holds a value of ours.
 */
const CORE_MARKER_FIELDS = /markerRecordedEventAttributes\.details\.(patch-data|data)\./;

/** Every payload of a history (any depth), as the codec protocol carries them. */
function payloadsOf(value: unknown, found: Payload[] = [], under = '', paths: string[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const metadata = (value as { metadata?: Record<string, unknown> }).metadata;
  if (metadata && metadata.encoding instanceof Uint8Array) {
    // Search attributes are the plaintext ids the UI filters on; they are not the codec's.
    if (!under.includes('searchAttributes')) {
      found.push(value as Payload);
      paths.push(`${under}.`);
    }
    return found;
  }
  for (const [key, child] of Object.entries(value)) payloadsOf(child, found, `${under}.${key}`, paths);
  return found;
}

async function turnWithToolCall() {
  const project = await testProject(stack.db);
  const api = apiClient(stack.gateway.url, project.adminKey);
  const tool = await api('POST', '/v1/tools', {
    name: 'marine_forecast', description: 'Forecast for a harbour', category: 'data_source', toolType: 'api', status: 'active',
    inputSchema: { type: 'object', properties: { harbour: { type: 'string' } }, required: ['harbour'] },
    config: { method: 'GET', url: tools.url('/weather'), query: { harbour: '{harbour}' } },
  });
  expect(tool.status, JSON.stringify(tool.body)).toBe(201);
  const agent = await api('POST', '/v1/agents', { name: 'Keeper', goal: 'keep boats safe', systemPrompt: secrets.prompt });
  expect((await api('POST', `/v1/agents/${agent.body.id}/tools`, { toolId: tool.body.id })).status).toBe(201);
  const conv = await api('POST', '/v1/conversations', { agentId: agent.body.id });
  llm.script({ toolCalls: [{ name: 'marine_forecast', arguments: { harbour: secrets.argument } }] }, { reply: secrets.answer });
  const res = await api('POST', `/v1/conversations/${conv.body.id}/messages`, { content: secrets.message });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.turn.agentResponse).toBe(secrets.answer);
  expect(JSON.stringify(llm.requests)).toContain(secrets.prompt); // the prompt really went through the turn
  return { project, workflowId: res.body.turn.workflowId as string };
}

const codecCall = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${stack.gateway.url}/codec/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('encrypted histories', () => {
  let turn: Awaited<ReturnType<typeof turnWithToolCall>>;
  let operatorKey: string;
  beforeAll(async () => {
    turn = await turnWithToolCall();
    operatorKey = await turn.project.key(['operator']);
    await recordClosedHistory(stack.config.TEMPORAL_ADDRESS, 'encrypted-turn-tool-call', turn.workflowId);
  });

  it('stores none of the prompt, message, tool arguments or answer in plaintext: every payload is ciphertext', async () => {
    const history = await raw.client.workflow.getHandle(turn.workflowId).fetchHistory();
    const text = decodedHistoryText(history);
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    const paths: string[] = [];
    const payloads = payloadsOf(history, [], '', paths);
    expect(payloads.length).toBeGreaterThan(5);
    const plain = paths.filter((where, i) => Buffer.from(payloads[i]!.metadata!.encoding!).toString() !== 'binary/encrypted');
    expect(plain.filter((where) => !CORE_MARKER_FIELDS.test(where))).toEqual([]);
    expect(paths.some((where) => /markerRecordedEventAttributes\.details\.result\./.test(where))).toBe(true); // a local activity's result, encrypted
    // The product's own client (with the codec) reads them: the same history holds the turn's words.
    const readable = await historyText(stack.temporal.client, turn.workflowId);
    for (const secret of Object.values(secrets)) expect(readable).toContain(secret);
  });

  it('decodes the raw history through the codec endpoint for an operator key, with CORS for the UI', async () => {
    const history = await raw.client.workflow.getHandle(turn.workflowId).fetchHistory();
    const res = await codecCall('decode', payloadsToJson(payloadsOf(history)), { authorization: `Bearer ${operatorKey}`, 'x-namespace': 'default', origin: UI });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    const decoded = (await res.json()) as { payloads: Array<{ data: string }> };
    const text = decoded.payloads.map((p) => Buffer.from(p.data, 'base64').toString('utf8')).join('\n');
    for (const secret of Object.values(secrets)) expect(text).toContain(secret);
  });

  it('refuses no key (401), a key without operator (403), and does not let an admin grant operator', async () => {
    const body = { payloads: [] };
    const none = await codecCall('decode', body);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    for (const key of [await turn.project.key(['conversations:read']), turn.project.adminKey]) {
      const res = await codecCall('decode', body, { authorization: `Bearer ${key}` });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'forbidden', message: expect.stringContaining('operator') } });
    }
    const admin = apiClient(stack.gateway.url, turn.project.adminKey);
    expect((await admin('POST', '/v1/api-keys', { name: 'escalate', permissions: ['operator'] })).status).toBe(403);
  });

  it('answers the UI preflight, and a keyless request only from the UI origin over loopback (TEMPORAL_CODEC_TRUST_LOCAL_UI)', async () => {
    const pre = await fetch(`${stack.gateway.url}/codec/decode`, {
      method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(UI);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    expect((await codecCall('decode', { payloads: [] }, { origin: UI })).status).toBe(200);
    const elsewhere = await codecCall('decode', { payloads: [] }, { origin: 'http://evil.test' });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    expect((await codecCall('decode', { payloads: [] }, { origin: UI, 'x-forwarded-for': '203.0.113.9' })).status).toBe(401);
  });

  it('passes old unencoded payloads through, opens a rotated-out key, and encodes with the active key', async () => {
    const auth = { authorization: `Bearer ${operatorKey}` };
    const plain = payloadsToJson([defaultPayloadConverter.toPayload({ before: 'encryption' })]);
    const passed = await codecCall('decode', plain, auth);
    expect(await passed.json()).toEqual(plain);

    const encoded = await codecCall('encode', plain, auth);
    const sealed = (await encoded.json()) as ReturnType<typeof payloadsToJson>;
    expect(Buffer.from(sealed.payloads[0]!.metadata!['encryption-key-id']!, 'base64').toString()).toBe('test'); // the last key is active
    // A payload sealed by a process whose active key was test2 (a key being rotated out) still opens.
    const byOld = new AesGcmPayloadCodec(parseKeyring(TEST_PAYLOAD_KEYS, 'test2')!);
    const old = payloadsToJson(await byOld.encode([defaultPayloadConverter.toPayload('sealed with test2')]));
    const opened = (await (await codecCall('decode', { payloads: [...old.payloads, ...sealed.payloads] }, auth)).json()) as ReturnType<typeof payloadsToJson>;
    expect(opened.payloads.map((p) => JSON.parse(Buffer.from(p.data!, 'base64').toString()))).toEqual(['sealed with test2', { before: 'encryption' }]);
  });

  it('answers hostile input with 4xx JSON, never 5xx', async () => {
    const auth = { authorization: `Bearer ${operatorKey}` };
    const cases: Array<[string, unknown, Record<string, string>?]> = [
      ['not JSON', '{"payloads": ['],
      ['no payloads', {}],
      ['bad base64 data', { payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==' }, data: '%%%not base64%%%' }] }],
      ['bad base64 metadata', { payloads: [{ metadata: { encoding: 'a' } }] }],
      ['not an object', { payloads: ['x'] }],
      ['too many payloads', { payloads: Array.from({ length: 1001 }, () => ({})) }],
      ['unknown key id', payloadsToJson([{ metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('nope') }, data: new Uint8Array(40) }])],
      ['garbage ciphertext', payloadsToJson([{ metadata: { encoding: Buffer.from('binary/encrypted'), 'encryption-key-id': Buffer.from('test') }, data: new Uint8Array(40) }])],
      ['another namespace', { payloads: [] }, { 'x-namespace': 'someone-else' }],
      ['over 4 MB', { payloads: [{ data: 'A'.repeat(5 * 1024 * 1024) }] }],
    ];
    for (const [what, body, headers] of cases) {
      const res = await codecCall('decode', body, { ...auth, ...headers });
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      expect(await res.json(), what).toMatchObject({ error: { code: expect.any(String) } });
    }
  });
});
