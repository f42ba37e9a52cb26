import { describe, expect, it } from 'vitest';
import { configKeySchema, resolveAgentSettings, validateConfigValue } from '../../src/agents/settings';

describe('agent settings', () => {
  const columns = { model: 'gpt-4o', temperature: 0.2, maxTokens: null };

  it('lets config keys override agent columns, and columns override defaults', () => {
    expect(resolveAgentSettings(columns, [], 'default-model')).toEqual({
      model: 'gpt-4o', temperature: 0.2, maxTokens: undefined, historyWindow: 20, doubleTexting: 'reject', maxSteps: 8, variablesTool: true, responseTimeBudgetMs: undefined,
    });
    const config = [
      { configKey: 'model', configValue: 'other' },
      { configKey: 'temperature', configValue: 1.5 },
      { configKey: 'history_window', configValue: 4 },
      { configKey: 'double_texting', configValue: 'enqueue' },
    ];
    expect(resolveAgentSettings(columns, config, 'default-model')).toMatchObject({
      model: 'other', temperature: 1.5, historyWindow: 4, doubleTexting: 'enqueue',
    });
    expect(resolveAgentSettings({ model: null, temperature: null, maxTokens: null }, [], 'fallback').model).toBe('fallback');
  });

  it('ignores a stored value that no longer fits its key instead of sending it to the model', () => {
    const settings = resolveAgentSettings(columns, [{ configKey: 'temperature', configValue: 'hot' }], 'm');
    expect(settings.temperature).toBe(0.2);
  });

  it('accepts known keys and custom.* keys only, and checks values of known keys', () => {
    expect(configKeySchema.safeParse('temperature').success).toBe(true);
    expect(configKeySchema.safeParse('custom.campaign').success).toBe(true);
    expect(configKeySchema.safeParse('temprature').success).toBe(false);
    expect(configKeySchema.safeParse('Bad Key').success).toBe(false);
    expect(validateConfigValue('temperature', 3)).toMatchObject({ ok: false });
    expect(validateConfigValue('double_texting', 'enqueue')).toEqual({ ok: true });
    expect(validateConfigValue('custom.anything', { nested: [1] })).toEqual({ ok: true });
  });
});
