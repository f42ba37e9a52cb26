import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/knowledge/chunk';

/*
 * Our own regexes over a tenant's text must be linear too: a document is one tenant's, the worker is everyone's.
 * The pathological input runs in a child process with a deadline, so a regression reports instead of hanging.
 */

const root = path.resolve(__dirname, '../..');

describe('regexes over tenant text', () => {
  it('a markdown heading with a long run of spaces is chunked in linear time (it was quadratic: 80,000 spaces took 9 s)', () => {
    const body = `
      const { chunkText } = (await import('./src/knowledge/chunk.ts')).default;
      const chunks = chunkText('# a' + ' '.repeat(200000) + 'b\\n\\nbody text');
      console.log(chunks.length > 0, chunks[0].heading.length);`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', body], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    expect(res.signal, 'chunking stalled until the child was killed').toBeNull();
    expect(res.stdout.trim(), res.stderr).toBe('true 200002');
  });

  it('keeps the heading rules: a closing sequence after a space is cut, a # inside a word is kept', () => {
    const headings = (text: string) => chunkText(`${text}\n\nbody`).map((c) => c.heading);
    expect(headings('## Title ##')).toEqual(['Title']);
    expect(headings('# C#')).toEqual(['C#']);
    expect(headings('# a # b  #  ')).toEqual(['a # b']);
    expect(headings('# ####')).toEqual(['####']);
  });
});
