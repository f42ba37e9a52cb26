import { DrizzleQueryError } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { answerForDatabaseError } from '../../src/gateway/db-errors';
import { findUnsafeText, MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../src/gateway/text-safety';

const pgError = (code: string) =>
  new DrizzleQueryError('select 1', [], new postgres.PostgresError({ message: 'x', code } as unknown as ConstructorParameters<typeof postgres.PostgresError>[0]));

describe('database errors as answers', () => {
  it('a server going away or unreachable is 503, under Drizzle or not', () => {
    for (const err of [pgError('57P01'), pgError('57P03'), pgError('08006'), pgError('53300'), Object.assign(new Error('write CONNECTION_ENDED'), { code: 'CONNECTION_ENDED' })]) {
      expect(answerForDatabaseError(err)).toMatchObject({ status: 503, code: 'unavailable' });
    }
  });

  it('a value Postgres refuses is 400, an unforeseen unique or foreign-key violation 409, anything else unknown', () => {
    expect(answerForDatabaseError(pgError('22P05'))).toMatchObject({ status: 400, code: 'invalid_input' });
    expect(answerForDatabaseError(pgError('22008'))).toMatchObject({ status: 400 });
    expect(answerForDatabaseError(pgError('54000'))).toMatchObject({ status: 400 });
    expect(answerForDatabaseError(pgError('23505'))).toMatchObject({ status: 409, code: 'conflict' });
    expect(answerForDatabaseError(pgError('42P01'))).toBeUndefined();
    expect(answerForDatabaseError(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('text Postgres cannot store', () => {
  it('accepts paired surrogates (emoji) and ordinary control characters', () => {
    expect(findUnsafeText({ text: 'ok 😀 \t\n\u0001', nested: [{ '😀': 'é' }] }, 'body')).toBeUndefined();
  });

  it('names the field of a NUL or lone surrogate in values and keys, at any depth', () => {
    expect(findUnsafeText({ a: [{ b: 'x\u0000' }] }, 'body')?.field).toBe('body.a.0.b');
    expect(findUnsafeText({ a: { '\udc00': 1 } }, 'body')?.field).toBe('body.a');
    expect(findUnsafeText({ a: 'x\ud83d' }, 'query')?.field).toBe('query.a');
  });

  it('refuses nesting past the limit without recursing', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnsafeText({ deep }, 'body')?.message).toMatch(`deeper than ${MAX_JSON_DEPTH}`);
    let fine: unknown = 'leaf';
    for (let i = 0; i < MAX_JSON_DEPTH - 2; i++) fine = [fine];
    expect(findUnsafeText({ fine }, 'body')).toBeUndefined();
  });

  it('names the full path of a failure deep in the tree, through objects and arrays', () => {
    let deep: unknown = { bad: 'x\u0000' };
    const keys: string[] = [];
    for (let i = 0; i < MAX_JSON_DEPTH - 4; i++) {
      deep = i % 2 ? [1, 'ok', deep] : { n: 1, [`k${i}`]: deep };
      keys.unshift(i % 2 ? '2' : `k${i}`);
    }
    expect(findUnsafeText({ deep, after: [0, 'fine'] }, 'body')?.field).toBe(['body', 'deep', ...keys, 'bad'].join('.'));
  });

  it('refuses a request part with more values than the limit, wherever they sit', () => {
    // The request part itself is one value, so this many elements is exactly at the limit.
    const atLimit = { x: Array<number>(MAX_JSON_VALUES - 2).fill(0) };
    expect(findUnsafeText(atLimit, 'body')).toBeUndefined();
    const nested = { x: [[...atLimit.x, 0]] };
    expect(findUnsafeText(nested, 'body')).toEqual({ field: 'body.x.0', message: expect.stringMatching(/too many values/) });
    const spread = { x: Array.from({ length: 1000 }, () => Array<number>(MAX_JSON_VALUES / 1000).fill(0)) };
    expect(findUnsafeText(spread, 'body')?.message).toMatch(/too many values/);
  });

  it('refuses an over-long array before reading any of its elements', () => {
    let reads = 0;
    const big = new Proxy(Array<number>(MAX_JSON_VALUES + 1).fill(0), {
      get: (target, key, receiver) => ((typeof key === 'string' && /^\d+$/.test(key) && reads++), Reflect.get(target, key, receiver)),
    });
    expect(findUnsafeText({ big }, 'body')?.message).toMatch(/too many values/);
    expect(reads).toBe(0);
  });
});
