import type postgres from 'postgres';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createTurnEventHub, parseTurnEventPayload } from '../../src/conversations/turn-event-hub';
import { TURN_EVENTS_CHANNEL } from '../../src/conversations/turn-events';

/** A stand-in for the driver's `sql.listen`: the test delivers notifications and (re)listens by hand. */
function fakeSql() {
  const calls: Array<{ channel: string; onNotify: (p: string) => void; onListen: () => void }> = [];
  const unlisten = vi.fn(async () => {});
  const sql = {
    listen: vi.fn((channel: string, onNotify: (p: string) => void, onListen: () => void) => {
      calls.push({ channel, onNotify, onListen });
      onListen();
      return Promise.resolve({ unlisten });
    }),
  } as unknown as postgres.Sql;
  return { sql, calls, unlisten };
}

const subscriber = () => ({ wake: vi.fn(), close: vi.fn() });

describe('turn event hub', () => {
  it('listens once, from the first subscriber, and wakes only the streams of the notified turn', () => {
    const { sql, calls } = fakeSql();
    const hub = createTurnEventHub(sql, pino({ level: 'silent' }));
    expect(calls).toHaveLength(0);
    const a = subscriber();
    const b = subscriber();
    hub.subscribe('c1', 1, a);
    hub.subscribe('c1', 2, b);
    expect(calls.map((c) => c.channel)).toEqual([TURN_EVENTS_CHANNEL]);
    a.wake.mockClear();
    b.wake.mockClear();
    calls[0]!.onNotify('c1:1:7');
    expect(a.wake).toHaveBeenCalledWith(7, false);
    expect(b.wake).not.toHaveBeenCalled();
    calls[0]!.onNotify('c1:1:9:end');
    expect(a.wake).toHaveBeenLastCalledWith(9, true);
  });

  it('reads the end marker of a payload and wakes with nothing known for one it cannot read', () => {
    const id = '0b6c2f1e-6a4e-4c5e-9a57-2d7e1c9e0f11';
    expect(parseTurnEventPayload(`${id}:3:12`)).toEqual({ key: `${id}:3`, lastSeq: 12, ended: false });
    expect(parseTurnEventPayload(`${id}:3:14:end`)).toEqual({ key: `${id}:3`, lastSeq: 14, ended: true });
    expect(parseTurnEventPayload(`${id}:3:x`)).toEqual({ key: `${id}:3`, lastSeq: undefined, ended: false });
  });

  it('wakes every stream after a relisten, since notifications sent meanwhile are lost', () => {
    const { sql, calls } = fakeSql();
    const hub = createTurnEventHub(sql, pino({ level: 'silent' }));
    const a = subscriber();
    const b = subscriber();
    hub.subscribe('c1', 1, a);
    hub.subscribe('c2', 1, b);
    a.wake.mockClear();
    b.wake.mockClear();
    calls[0]!.onListen(); // what the driver calls when it has listened again on a new connection
    expect(a.wake).toHaveBeenCalledWith();
    expect(b.wake).toHaveBeenCalledWith();
  });

  it('stops waking a stream that unsubscribed, and on close ends every stream and unlistens', async () => {
    const { sql, calls, unlisten } = fakeSql();
    const hub = createTurnEventHub(sql, pino({ level: 'silent' }));
    const gone = subscriber();
    const stays = subscriber();
    const off = hub.subscribe('c1', 1, gone);
    hub.subscribe('c1', 1, stays);
    off();
    gone.wake.mockClear();
    calls[0]!.onNotify('c1:1:2');
    expect(gone.wake).not.toHaveBeenCalled();
    await hub.close();
    expect(stays.close).toHaveBeenCalledOnce();
    expect(gone.close).not.toHaveBeenCalled();
    expect(unlisten).toHaveBeenCalledOnce();
    const late = subscriber();
    hub.subscribe('c1', 1, late);
    expect(late.close).toHaveBeenCalledOnce();
  });
});
