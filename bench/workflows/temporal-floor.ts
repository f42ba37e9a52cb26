// Workflow code of bench/temporal-floor.ts: the smallest turn Temporal allows, one workflow task that schedules
// one activity, with the turn's activity options (eager dispatch, heartbeat timeout, retries). `patched` adds what
// a patched turn workflow records in its first task: a marker and the TemporalChangeVersion search attribute.
import { patched, proxyActivities } from '@temporalio/workflow';

const { answer } = proxyActivities<{ answer(label: string): Promise<number> }>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4 },
});

export async function floorTurn(label: string, withPatch: boolean): Promise<number> {
  if (withPatch) patched('bench-floor-patch');
  return answer(label);
}
