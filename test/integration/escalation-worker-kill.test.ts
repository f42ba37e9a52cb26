import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPeople, createRule, getEscalation, kinds, waitForTimeline } from '../support/escalations';
import { apiClient } from '../support/http';
import { spawnWorker } from '../support/worker-process';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject } from '../support/stack';

let config: ReturnType<typeof testConfig>;
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  config = testConfig();
  db = testDb(config);
  temporal = await temporalClient(config);
  gateway = await startGateway(config, db, temporal.client);
});
afterAll(async () => {
  await gateway.close();
  await temporal.close();
  await db.close();
});

describe('a worker killed while an escalation waits on its timer', () => {
  it('the timer still fires once a new worker starts, and nothing is written twice', async () => {
    const project = await testProject(db);
    const api = apiClient(gateway.url, project.adminKey);
    const agentId = (await api('POST', '/v1/agents', { name: 'Night shift', goal: 'watch' })).body.id as string;
    const people = await createPeople(api, 'https://hooks.example.test/unused');
    const conversationId = (await api('POST', '/v1/conversations', { agentId })).body.id as string;
    const ruleId = await createRule(api, {
      name: 'Pager', agentId, ruleType: 'manual', escalationAction: 'notify',
      policy: { levels: [{ targets: [people.oncall], channels: ['in_app'], ackTimeoutSeconds: 3 }, { targets: [people.manager], channels: ['in_app'], ackTimeoutSeconds: 300 }] },
    });

    const child = spawnWorker(config);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const created = await api('POST', `/v1/conversations/${conversationId}/escalations`, { ruleId, reason: 'disk full' });
    expect(created.status).toBe(201);
    const eventId = created.body.id as string;
    await waitForTimeline(api, eventId, 'notified', 1, 150_000); // the child worker picked it up (tsx start-up is slow, slower under load)
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();

    // Nobody runs the workflow now; the level 1 deadline passes while no worker is alive.
    await new Promise((r) => setTimeout(r, 3500));
    expect(kinds(await getEscalation(api, eventId))).toEqual(['created', 'notified']);

    const worker = await startWorker(config, db);
    try {
      const view = await waitForTimeline(api, eventId, 'escalated', 1, 30_000);
      expect(Date.now() - killedAt).toBeGreaterThanOrEqual(3000);
      expect(kinds(view)).toEqual(['created', 'notified', 'escalated']);
      expect(view.deliveries.map((d) => [d.level, d.targetUserId])).toEqual([[1, people.oncall], [2, people.manager]]);
      expect((await api('POST', `/v1/escalations/${eventId}/resolve`, {})).body.status).toBe('resolved');
    } finally {
      await worker.stop();
    }
  }, 300_000);
});
