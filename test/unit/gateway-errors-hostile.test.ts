import { DrizzleQueryError } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { answerForDatabaseError } from '../../src/gateway/db-errors';
import { findUnsafeText, MAX_JSON_DEPTH } from '../../src/gateway/text-safety';

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
});
