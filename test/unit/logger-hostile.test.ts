import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';

/** A logger whose lines land in an array, as the real one writes them. */
function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: createLogger('info', {}, sink), lines };
}

/** What a failed insert looks like: Drizzle's wrapper around the driver's error, user text in both. */
function failedInsert() {
  const userText = 'my card is 4111-1111-1111-1111';
  const pgError = new postgres.PostgresError({
    message: 'duplicate key value violates unique constraint "tool_project_name"',
    code: '23505',
    severity: 'ERROR',
    detail: `Key (project_id, name)=(p1, ${userText}) already exists.`,
    constraint_name: 'tool_project_name',
  } as unknown as ConstructorParameters<typeof postgres.PostgresError>[0]);
  // postgres.js attaches the statement and its parameters; with `debug` on they are enumerable.
  Object.defineProperties(pgError, {
    query: { value: 'insert into "tool" ("name") values ($1)', enumerable: true },
    parameters: { value: [userText], enumerable: true },
  });
  return { userText, err: new DrizzleQueryError('insert into "tool" ("name") values ($1)', [userText, 'p1'], pgError) };
}

describe('database errors in logs', () => {
  it('keep the SQL text and error code but drop bound parameters and row values, under err and error', () => {
    const { logger, lines } = capture();
    const { userText, err } = failedInsert();
    logger.error({ err }, 'unhandled error');
    logger.warn({ error: err }, 'Activity failed');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain('4111');
      expect(line).not.toContain(userText);
      expect(line).toContain('insert into \\"tool\\"');
      expect(line).toContain('23505');
      expect(line).toContain('tool_project_name');
    }
  });

  it('leave other errors as the standard serializer writes them', () => {
    const { logger, lines } = capture();
    logger.error({ err: Object.assign(new Error('plain failure'), { code: 'E_PLAIN' }) }, 'x');
    const entry = JSON.parse(lines[0]!) as { err: { type: string; message: string; code: string; stack: string } };
    expect(entry.err).toMatchObject({ type: 'Error', message: 'plain failure', code: 'E_PLAIN' });
    expect(entry.err.stack).toMatch(/^Error: plain failure\n/);
  });
});
