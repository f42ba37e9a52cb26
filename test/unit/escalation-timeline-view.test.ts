import { describe, expect, it } from 'vitest';
import { notificationCounts, timelineView } from '../../src/escalations/events/event-view';

describe('timeline entries in the API', () => {
  it('reads entries written before levels and passes counted from 1 in the same convention as new ones', () => {
    const stored = [
      { seq: 0, kind: 'created', status: 'pending', actor: 'system' },
      { seq: 1, kind: 'notified', status: 'pending', level: 1, pass: 0, actor: 'system', notifications: { total: 1, sending: 1, inApp: 0, undeliverable: 0 } },
      { seq: 2, kind: 'escalated', status: 'pending', level: 2, pass: 0, actor: 'system', notifications: { total: 1, sending: 0, inApp: 1, undeliverable: 0 } },
      { seq: 3, kind: 'acknowledged', status: 'acknowledged', level: 1, actor: 'user:u1' },
    ];
    expect(timelineView(stored).map((t) => [t.kind, t.level, t.pass])).toEqual([['created', 1, 1], ['notified', 1, 1], ['escalated', 2, 1], ['acknowledged', 2, undefined]]);
    expect(timelineView(stored)[1]!.notifications).toEqual({ total: 1, inApp: 0, undeliverable: 0 });
  });

  it('leaves entries in the new convention alone', () => {
    const entries = [{ seq: 3, kind: 'acknowledged', status: 'acknowledged', level: 2, pass: 1, actor: 'user:u1', at: 'x' }];
    expect(timelineView(entries)).toEqual(entries);
  });

  it('counts deliveries by their status now', () => {
    expect(notificationCounts([{ status: 'sent' }, { status: 'pending' }, { status: 'failed' }, { status: 'read' }, { status: 'sent' }])).toEqual({ total: 5, pending: 1, sent: 2, failed: 1, read: 1 });
  });
});
