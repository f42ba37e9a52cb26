// How an event reads in the API: levels and passes counted from 1 everywhere, also in timeline entries
// written before that was so.
import type { TimelineEntry } from './event-lifecycle.js';

/** A stored timeline entry, as old or new code wrote it. */
type StoredEntry = Record<string, unknown>;

/**
 * Timeline entries in the API's convention (`level` and `pass` from 1). Entries written before it was the
 * convention are converted as they are read:
 * - `notified` / `escalated` / `retriggered` / `snooze_ended` carried `notifications.sending` (a count taken
 *   once, when the level was told, so it never moved), a 1-based `level` and a 0-based `pass`;
 * - every other entry but `created` carried a 0-based `level` and no `pass`;
 * - `created` carried neither.
 * New entries always carry `pass` and never `notifications.sending`, so the two are told apart.
 */
export function timelineView(timeline: unknown): TimelineEntry[] {
  if (!Array.isArray(timeline)) return [];
  return (timeline as StoredEntry[]).map((e): TimelineEntry => {
    const notifications = e.notifications as Record<string, unknown> | undefined;
    if (notifications && typeof notifications === 'object' && 'sending' in notifications) {
      const { sending: _sending, ...rest } = notifications;
      return { ...e, notifications: rest, ...(typeof e.pass === 'number' ? { pass: e.pass + 1 } : {}) } as unknown as TimelineEntry;
    }
    if (e.kind === 'created' && e.level === undefined) return { ...e, level: 1, pass: 1 } as unknown as TimelineEntry;
    if (e.pass === undefined && typeof e.level === 'number') return { ...e, level: e.level + 1 } as unknown as TimelineEntry;
    return e as unknown as TimelineEntry;
  });
}

/** Deliveries of an event by status, now: how many are still being sent, sent, failed or read. */
export function notificationCounts(deliveries: { status: string }[]) {
  const counts = { total: deliveries.length, pending: 0, sent: 0, failed: 0, read: 0 };
  for (const d of deliveries) if (d.status in counts && d.status !== 'total') counts[d.status as 'pending' | 'sent' | 'failed' | 'read']++;
  return counts;
}

/** The 1-based level of an event from its stored `current_level` (an index into the policy's levels). */
export const levelNumber = (currentLevel: number) => currentLevel + 1;
