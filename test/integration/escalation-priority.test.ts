import { activityInfo } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTemporalCli } from '../../scripts/ensure-temporal.mjs';
import { devServerDynamicConfigArgs } from '../../scripts/lib/dev-server.mjs';
import { searchAttributes } from '../../workflows/contracts/index';
import { createPeople, createRule, waitForTimeline } from '../support/escalations';
import { apiClient } from '../support/http';
import { startGateway, startWorker, temporalClient, testConfig, testDb, testProject } from '../support/stack';

let config: ReturnType<typeof testConfig>;
let db: ReturnType<typeof testDb>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let gateway: Awaited<ReturnType<typeof startGateway>>;
let server: TestWorkflowEnvironment;

// A dev server of its own, with the project's dynamic config and one task-queue partition: priority orders the
// tasks within a partition, and with the dev server's default of four a poll may reach a partition holding only
// low tasks first, so the order asserted below would hold only most of the time.
beforeAll(async () => {
  server = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await ensureTemporalCli() },
      searchAttributes: Object.values(searchAttributes),
      extraArgs: [...devServerDynamicConfigArgs(), ...['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'].flatMap((kv) => ['--dynamic-config-value', kv])],
    },
  });
  config = testConfig({ TEMPORAL_ADDRESS: server.address });
  db = testDb(config);
  temporal = await temporalClient(config);
  gateway = await startGateway(config, db, temporal.client);
});
afterAll(async () => {
  await gateway.close();
  await temporal.close();
  await db.close();
  await server.teardown();
});

const BACKLOG = 24;

describe('escalation task priority (the dev server runs matching.useNewMatcher=true)', () => {
  it('a critical escalation started after a backlog of low ones is dispatched before them', async () => {
    const project = await testProject(db);
    const api = apiClient(gateway.url, project.adminKey);
    const agentId = (await api('POST', '/v1/agents', { name: 'Ops', goal: 'watch' })).body.id as string;
    const people = await createPeople(api, 'https://hooks.example.test/unused');
    const conversationId = (await api('POST', '/v1/conversations', { agentId })).body.id as string;
    const rule = (name: string, priority: string) => createRule(api, {
      name, agentId, ruleType: 'manual', escalationAction: 'notify', priority,
      policy: { levels: [{ targets: [people.oncall], channels: ['in_app'], ackTimeoutSeconds: 600 }] },
    });
    const [low, critical] = [await rule('Low', 'low'), await rule('Critical', 'critical')];
    const escalate = async (ruleId: string) => {
      const res = await api('POST', `/v1/conversations/${conversationId}/escalations`, { ruleId, reason: 'queued' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    // No worker polls the queue yet: every first workflow task waits in the task queue's backlog.
    const lows: string[] = [];
    for (let i = 0; i < BACKLOG; i++) lows.push(await escalate(low));
    const page = await escalate(critical);

    // Two workflow tasks at a time (the fewest a caching worker polls with), and the first step of each escalation in the order its task was dispatched.
    const dispatched: string[] = [];
    const worker = await startWorker(config, db, {
      worker: { maxConcurrentWorkflowTaskExecutions: 2, maxConcurrentWorkflowTaskPolls: 2, maxConcurrentLocalActivityExecutions: 1 },
      activities: (a) => ({
        ...a,
        beginEscalationAndNotify: async (input: Parameters<typeof a.beginEscalationAndNotify>[0]) => {
          dispatched.push((activityInfo().workflowExecution?.workflowId ?? '').replace(/^escalation:/, ''));
          return a.beginEscalationAndNotify(input);
        },
      }),
    });
    try {
      for (const id of [page, ...lows]) await waitForTimeline(api, id, 'notified', 1, 60_000);
      // In order of creation it would run last (index BACKLOG); by priority it comes first, or second when the
      // other poller took a low one at the same moment.
      expect(dispatched.indexOf(page)).toBeLessThanOrEqual(1);
      expect(new Set(dispatched)).toEqual(new Set([page, ...lows]));
    } finally {
      await worker.stop();
    }
  }, 120_000);
});
