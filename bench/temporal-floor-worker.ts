/**
 * The worker process of bench/temporal-floor.ts: the floor workflow and an activity that returns at once with the
 * moment it started, on this machine's clock (`performance.timeOrigin + performance.now()`, comparable across
 * processes). Settings from the parent: FLOOR_TEMPORAL_ADDRESS, FLOOR_TASK_QUEUE. Stops on SIGTERM.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { NativeConnection, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: process.env.FLOOR_TEMPORAL_ADDRESS! }),
    taskQueue: process.env.FLOOR_TASK_QUEUE!,
    // The product worker's slots (src/config.ts defaults): the SDK sizes its pollers from them.
    maxConcurrentActivityTaskExecutions: 100,
    maxConcurrentWorkflowTaskExecutions: 40,
    workflowsPath: path.join(__dirname, 'workflows', 'temporal-floor.ts'),
    activities: { answer: async () => performance.timeOrigin + performance.now() },
  });
  process.once('SIGTERM', () => worker.shutdown());
  await worker.run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
