import { describe, expect, it } from 'vitest';
import { deviationReasons, storedDeviationCondition, type TurnFacts } from '../../src/escalations/rules/deviation-checks';

const facts: TurnFacts = {
  conversationId: 'c', agentId: 'a', turnIndex: 0, userMessage: 'I want a refund, aa', toolFailures: 0, escalateToolReasons: [], responseTimeMs: 10,
};

describe('deviation rules stored before regexes ran on RE2', () => {
  it('keep firing on their other conditions when RE2 refuses their regex', () => {
    // A backreference was valid JavaScript when the rule was saved; RE2 refuses it.
    const condition = storedDeviationCondition({ keywords: ['refund'], regex: '(a)\\1' });
    expect(condition).not.toBeNull();
    expect(deviationReasons(condition!, facts)).toEqual(['message mentions "refund"']);
  });

  it('still ignore conditions that are invalid for other reasons', () => {
    expect(storedDeviationCondition({ keywords: 'refund' })).toBeNull();
    expect(storedDeviationCondition(null)).toBeNull();
    expect(storedDeviationCondition({ regex: '(a)\\1' })).toBeNull();
  });
});
