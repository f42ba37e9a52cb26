import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeltaBatcher } from '../../src/conversations/delta-batcher';
import type { NewTurnEvent } from '../../src/conversations/turn-events';

function batcher(options: { flushMs?: number; maxChars?: number } = {}) {
  const written: NewTurnEvent[] = [];
  let beats = 0;
  const b = new DeltaBatcher({ keyPrefix: 'model:r:2:1', write: async (events) => void written.push(...events), onWritten: () => beats++, ...options });
  return { b, written, beats: () => beats };
}

const texts = (events: NewTurnEvent[]) => events.map((e) => e.data?.text);

describe('DeltaBatcher', () => {
  it('writes the first piece at once and gathers the rest until the timer or finish', async () => {
    // A timer that never fires within the test: only the first piece and finish write.
    const { b, written, beats } = batcher({ flushMs: 60_000 });
    b.push('Hel');
    await expect.poll(() => texts(written)).toEqual(['Hel']);
    b.push('lo, ');
    b.push('world');
    expect(written).toHaveLength(1);
    await b.finish();
    expect(texts(written)).toEqual(['Hel', 'lo, world']);
    expect(written.map((e) => e.key)).toEqual(['model:r:2:1:delta:1', 'model:r:2:1:delta:2']);
    expect(written.every((e) => e.type === 'message.delta')).toBe(true);
    expect(beats()).toBe(2);
  });

  it('hands the unwritten rest to the caller after the writes under way, numbered on, and writes nothing more', async () => {
    let release!: () => void;
    const written: NewTurnEvent[] = [];
    const b = new DeltaBatcher({
      keyPrefix: 'model:r:2:1',
      flushMs: 60_000,
      write: async (events) => {
        await new Promise<void>((resolve) => (release = resolve));
        written.push(...events);
      },
    });
    b.push('first ');
    await nextTurn(); // the first piece goes out on the event loop's next turn
    b.push('and the rest');
    const rest = b.takeRest();
    await expect.poll(() => release).toBeTypeOf('function');
    release(); // the first piece's write was still under way: the rest waits for it
    expect(texts(await rest)).toEqual(['and the rest']);
    expect((await rest).map((e) => e.key)).toEqual(['model:r:2:1:delta:2']);
    expect(texts(written)).toEqual(['first ']);
    expect(await new DeltaBatcher({ keyPrefix: 'k', write: async () => {} }).takeRest()).toEqual([]);
  });

  it('hands an answer that arrived whole to the caller without writing it: the turn\'s completion writes it', async () => {
    const { b, written } = batcher({ flushMs: 60_000 });
    // The model's whole stream parsed from one read: first piece and end within one turn of the event loop.
    b.push('the whole ');
    b.push('answer');
    const rest = await b.takeRest();
    expect(texts(rest)).toEqual(['the whole answer']);
    expect(rest.map((e) => e.key)).toEqual(['model:r:2:1:delta:1']);
    await nextTurn();
    expect(written).toEqual([]);
  });

  it('writes a batch at once when it reaches the size limit, in order', async () => {
    const { b, written } = batcher({ flushMs: 60_000, maxChars: 4 });
    // Pushed within one turn of the event loop: the first piece has not gone out yet and joins the first batch.
    for (const piece of ['a', 'bb', 'cc', 'd', 'eeee', 'f']) b.push(piece);
    await b.finish();
    expect(texts(written)).toEqual(['abbcc', 'deeee', 'f']);
  });

  it('writes on its timer', async () => {
    const { b, written } = batcher({ flushMs: 1 });
    b.push('one ');
    await nextTurn();
    b.push('two');
    await expect.poll(() => texts(written)).toEqual(['one ', 'two']);
    await b.finish();
    expect(written).toHaveLength(2);
  });

  it('drops unwritten text when abandoned, and reports a failed write from finish', async () => {
    const { b, written } = batcher({ flushMs: 60_000 });
    b.push('kept');
    await nextTurn();
    b.push(' dropped');
    await b.abandon();
    expect(texts(written)).toEqual(['kept']);

    const failing = new DeltaBatcher({ keyPrefix: 'k', write: async () => Promise.reject(new Error('db down')) });
    failing.push('x');
    await expect(failing.finish()).rejects.toThrow('db down');
  });
});
