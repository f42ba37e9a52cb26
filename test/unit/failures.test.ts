import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { causeChain, errorCodes, failureMessage, postgresErrorCode, rootCauseMessage } from '../../src/failures';

const activityFailure = (cause?: Error) =>
  new ActivityFailure('Activity task failed', 'runTool', '1', RetryState.NON_RETRYABLE_FAILURE, 'worker', cause);

describe('failure cause chain', () => {
  it('tells what went wrong, not where: the ApplicationFailure under the ActivityFailure', () => {
    const raised = ApplicationFailure.create({ type: 'ToolClientError', message: 'HTTP 404', cause: new Error('socket detail') });
    expect(failureMessage(activityFailure(raised))).toBe('HTTP 404');
    expect(rootCauseMessage(activityFailure(raised))).toBe('socket detail');
  });

  it('keeps a wrapper without a cause, and a value that is not an Error', () => {
    expect(failureMessage(activityFailure())).toBe('Activity task failed');
    expect(failureMessage('plain text')).toBe('plain text');
    expect(rootCauseMessage(42)).toBe('42');
  });

  it('ends on a cyclic chain and after eight levels', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(b).map((e) => e.message)).toEqual(['b', 'a']);
    let deep = new Error('0');
    for (let i = 1; i < 20; i++) deep = new Error(String(i), { cause: deep });
    expect(causeChain(deep)).toHaveLength(8);
  });

  it('finds the SQLSTATE a driver error carries under the ORM wrapper', () => {
    const driver = Object.assign(new Error('duplicate key'), { code: '23505' });
    const wrapped = Object.assign(new Error('Failed query', { cause: driver }), { code: 'ERR_QUERY' });
    expect(errorCodes(wrapped)).toEqual(['ERR_QUERY', '23505']);
    expect(postgresErrorCode(wrapped)).toBe('23505');
    expect(postgresErrorCode(new Error('no code'))).toBeUndefined();
  });
});
