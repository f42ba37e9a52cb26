/**
 * What the Temporal dev server says about a benchmark: the RPCs it answered (its Prometheus
 * `service_requests` counter) and the shape of a workflow's history. Used by bench/escalations-profile.ts and
 * bench/profile-turn.ts.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { temporal } from '@temporalio/proto';

/** The dev server's /metrics: whichever of its process's listening sockets serves `service_requests` (Linux /proc). */
export async function metricsUrl(pid: number | null): Promise<string | null> {
  if (!pid) return null;
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1]!);
    } catch { /* closed meanwhile */ }
  }
  const listening = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8').split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((f) => f[3] === '0A' && inodes.has(f[9] ?? '')));
  for (const f of listening) {
    const url = `http://127.0.0.1:${parseInt(f[1]!.split(':')[1]!, 16)}/metrics`;
    const text = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => (r.ok ? r.text() : ''), () => '');
    if (text.includes('service_requests')) return url;
  }
  return null;
}

/** RPCs answered so far, keyed `service:operation` (frontend = what clients and workers call). */
export async function temporalRpcs(url: string | null): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (!url) return out;
  const text = await fetch(url).then((r) => r.text());
  for (const [, labels, value] of text.matchAll(/^service_requests\{(.*)\} ([\d.e+]+)$/gm)) {
    const op = /operation="(\w+)"/.exec(labels!)?.[1];
    if (!op) continue;
    const key = `${/service_name="(\w+)"/.exec(labels!)?.[1] ?? '?'}:${op}`;
    out[key] = (out[key] ?? 0) + Number(value);
  }
  return out;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Counts of one history: events, workflow tasks, activities, local activities and patch markers, and the event types in order. */
export function historyCounts(events: HistoryEvent[]) {
  const markers = (name: string) => events.filter((e) => e.markerRecordedEventAttributes?.markerName === name).length;
  return {
    events: events.length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: markers('core_local_activity'),
    patchMarkers: markers('core_patch'),
    types: events.map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes'))?.replace(/EventAttributes$/, '') ?? String(e.eventType)),
  };
}
