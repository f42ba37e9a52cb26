import { describe, expect, it } from 'vitest';
import { ResetSafeText } from '../../src/openai-compat/reset-safe-text';

describe('ResetSafeText (OpenAI streams cannot take text back)', () => {
  it('passes text through until a reset, then emits only what the retried attempt adds beyond what was sent', () => {
    const t = new ResetSafeText();
    expect([t.push('Hel'), t.push('lo')]).toEqual(['Hel', 'lo']);
    t.reset();
    expect([t.push('He'), t.push('llo'), t.push(' world')]).toEqual(['', '', ' world']);
    expect(t.push('!')).toBe('!');
    expect(t.finish('Hello world!')).toBe('');
  });

  it('says diverged when the retried attempt says something else, or the stored answer does not continue the text', () => {
    const t = new ResetSafeText();
    t.push('Hello');
    t.reset();
    expect(t.push('Goodbye')).toEqual({ diverged: true });
    const u = new ResetSafeText();
    u.push('Let me check.');
    expect(u.finish('It is sunny.')).toEqual({ diverged: true });
  });

  it('tops the text up to the stored answer at the end', () => {
    const t = new ResetSafeText();
    t.push('It is');
    expect(t.finish('It is sunny.')).toBe(' sunny.');
    expect(t.text).toBe('It is sunny.');
  });

  it('keeps what a model said before calling tools, and checks resets and the stored answer against the last step only', () => {
    const t = new ResetSafeText();
    expect(t.push('Let me check.')).toBe('Let me check.');
    t.step();
    expect(t.push('It is')).toBe('\n\nIt is');
    t.reset();
    expect([t.push('It'), t.push(' is sunny')]).toEqual(['', ' sunny']);
    expect(t.finish('It is sunny.')).toBe('.');
    expect(t.text).toBe('Let me check.\n\nIt is sunny.');
    // A step that said nothing before its tool call adds no separator.
    const u = new ResetSafeText();
    u.step();
    expect(u.push('Sunny.')).toBe('Sunny.');
    expect(u.finish('Sunny.')).toBe('');
  });
});

