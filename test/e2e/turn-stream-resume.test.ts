import { describe, expect, it } from 'vitest';
import { spawnGateway } from '../support/gateway-process';
import { stackPerFile } from '../support/file-stack';
import { apiClient } from '../support/http';
import { ScriptedLlm } from '../support/scripted-llm';
import { openSse } from '../support/sse';
import { testProject, type Stack } from '../support/stack';
import { delta, turnWithLog } from '../support/turn-log';

/*
 * A stream survives the death of the gateway serving it: the log lives in Postgres, so the client reconnects
 * to any other gateway with Last-Event-ID and gets exactly the rest.
 */
const llm = new ScriptedLlm();
let stack: Stack;
stackPerFile((s) => (stack = s), llm);

const gatewayEnv = () => ({
  DATABASE_URL: stack.config.DATABASE_URL, TEMPORAL_ADDRESS: stack.config.TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE: stack.config.TEMPORAL_TASK_QUEUE,
});

describe('resuming after the serving gateway was killed', () => {
  it('continues on another gateway from Last-Event-ID, losing and repeating nothing', async () => {
    const { append, auth, eventsPath: path } = await turnWithLog(stack.db, stack.gateway.url);

    const doomed = await spawnGateway(gatewayEnv());
    try {
      await append({ type: 'turn.started' }, delta('one '));
      const first = await openSse(doomed.url + path, { headers: auth });
      await first.next();
      await append(delta('two '));
      await first.next();
      doomed.child.kill('SIGKILL');
      await first.done.catch(() => {}); // the connection dies with the process
      await append(delta('three'), { type: 'turn.completed', data: { answer: 'one two three' } });

      const seen = first.events.at(-1)!.id!;
      const rest = await openSse(stack.gateway.url + path, { headers: { ...auth, 'last-event-id': seen } });
      await rest.done;
      const all = [...first.events, ...rest.events];
      expect(all.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5]);
      expect(all.filter((e) => e.event === 'message.delta').map((e) => e.data.text).join('')).toBe('one two three');
    } finally {
      await doomed.stop();
    }
  });

  it('resumes a streamed POST whose gateway was killed mid-answer; the turn runs on and the client gets exactly the rest', async () => {
    const project = await testProject(stack.db);
    const api = apiClient(stack.gateway.url, project.adminKey);
    const agent = (await api('POST', '/v1/agents', { name: 'A', goal: 'g' })).body;
    const conv = (await api('POST', '/v1/conversations', { agentId: agent.id })).body;
    const auth = { authorization: `Bearer ${project.adminKey}` };
    const answer = 'The turn goes on after the gateway is gone.';
    let open!: () => void;
    llm.script({ reply: answer, holdAfterChunks: 3, release: new Promise<void>((resolve) => (open = resolve)) });

    const doomed = await spawnGateway(gatewayEnv());
    try {
      const first = await openSse(`${doomed.url}/v1/conversations/${conv.id}/messages`, { method: 'POST', headers: auth, body: { content: 'Go on' } });
      const started = await first.next();
      expect(started.event).toBe('turn.started');
      while (first.events.every((e) => e.event !== 'message.delta')) await first.next();
      doomed.child.kill('SIGKILL');
      await first.done.catch(() => {});
      open();

      const turnIndex = started.data.turnIndex as number;
      const rest = await openSse(`${stack.gateway.url}/v1/conversations/${conv.id}/turns/${turnIndex}/events`, {
        headers: { ...auth, 'last-event-id': first.events.at(-1)!.id! },
      });
      await rest.done;
      const all = [...first.events, ...rest.events];
      expect(all.map((e) => Number(e.id))).toEqual(all.map((_, i) => i + 1));
      expect(all.filter((e) => e.event === 'message.delta').map((e) => e.data.text).join('')).toBe(answer);
      expect(all.at(-1)).toMatchObject({ event: 'turn.completed', data: { answer } });
    } finally {
      await doomed.stop();
    }
  });
});
