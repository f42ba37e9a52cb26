import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTemplate, renderTemplate, sampleVariables, TemplateRenderError, TemplateSyntaxError } from '../../src/escalations/notifications/template-render';
import { deviationReasons } from '../../src/escalations/rules/deviation-checks';
import { deviationCondition } from '../../src/escalations/contracts/rule-fields';
import { promptLimits, renderPrompt, templateError } from '../../src/agents/prompt-template';
import { checkJsonSchema } from '../../src/tools/schema-check';
import { liquidShapeLimits } from '../../src/tenant-expressions/liquid-shape';

/*
 * Tenant-written Liquid and regular expressions against inputs that crashed or stalled a process before.
 * What could end a process runs in a child process, so a regression reports here instead of killing vitest.
 */

const root = path.resolve(__dirname, '../..');

/**
 * Runs an ES module body in a fresh Node (TypeScript through tsx) with a small heap and a deadline.
 * `load(path)` imports one of our modules (tsx hands CommonJS-compiled files over as `default`).
 */
function runChild(body: string, opts: { heapMb?: number; timeoutMs?: number } = {}) {
  const load = 'const load = async (p) => { const m = await import(p); return m.default ?? m; };\n';
  const res = spawnSync(process.execPath, [`--max-old-space-size=${opts.heapMb ?? 256}`, '--import', 'tsx', '--input-type=module', '-e', load + body], {
    cwd: root, encoding: 'utf8', timeout: opts.timeoutMs ?? 30_000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  const fatal = /FATAL ERROR[^\n]*/.exec(res.stderr)?.[0];
  return { status: res.status, signal: res.signal, stdout: res.stdout.trim().split('\n'), fatal, stderr: res.stderr.slice(0, 2000) };
}

const nestedIfs = (depth: number) => '{% if agent %}'.repeat(depth) + 'x' + '{% endif %}'.repeat(depth);
const agent = { name: 'a', goal: 'g', language: 'en' };

function syntaxError(body: string): TemplateSyntaxError {
  try {
    checkTemplate({ body });
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return err;
    throw err;
  }
  throw new Error('checkTemplate accepted the template');
}

describe('Liquid nesting', () => {
  it('refuses deep nesting before parsing, so a stack-trace formatter that compiles a regex cannot end the process', () => {
    // vitest's source-map formatter compiles regexes while formatting an error's stack; liquidjs built its
    // ParseError at the deepest frame, and V8 aborts when a regex compile runs out of stack (seen: exit 134,
    // "RegExpCompiler Allocation failed" under StringReplaceNonGlobalRegExpWithFunction).
    const run = runChild(`
      let n = 0;
      Error.prepareStackTrace = (err, frames) => String(err) + frames.map((f) => String(f.getFileName()).replace(new RegExp('^file:///(\\\\w:)?' + n++), (p) => p)).join('');
      const { checkTemplate } = await load('./src/escalations/notifications/template-render.ts');
      const { templateError } = await load('./src/agents/prompt-template.ts');
      for (const depth of [3000, 3900]) {
        const t = '{% if agent %}'.repeat(depth) + 'x' + '{% endif %}'.repeat(depth);
        try { checkTemplate({ body: t }); console.log('accepted'); } catch (e) { console.log(e.message); }
        console.log(templateError(t));
      }`);
    expect(run.fatal, run.stderr).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toHaveLength(4);
    for (const line of run.stdout) expect(line).toContain(`tags nested too deeply (more than ${liquidShapeLimits.blockDepth} levels)`);
  });

  it('accepts nesting up to the limit and refuses one level more, with its position', () => {
    expect(() => checkTemplate({ body: nestedIfs(liquidShapeLimits.blockDepth) })).not.toThrow();
    expect(syntaxError(nestedIfs(liquidShapeLimits.blockDepth + 1))).toMatchObject({ line: 1, column: 14 * liquidShapeLimits.blockDepth + 1 });
    const liquidTag = `{% liquid\n${'if agent\n'.repeat(liquidShapeLimits.blockDepth + 1)}echo "x"\n${'endif\n'.repeat(liquidShapeLimits.blockDepth + 1)}%}`;
    expect(syntaxError(liquidTag).message).toContain('tags nested too deeply');
    expect(templateError(nestedIfs(liquidShapeLimits.blockDepth + 1))).toContain('tags nested too deeply');
  });

  it('refuses expressions nested deeper than the limit (brackets, ranges, groups), not brackets inside strings', () => {
    const depth = liquidShapeLimits.expressionDepth + 1;
    for (const body of [`{{ agent${'[agent'.repeat(depth)}${']'.repeat(depth)} }}`, `{{ ${'(1..'.repeat(depth)}2${')'.repeat(depth)} }}`]) {
      expect(syntaxError(body).message).toContain('expression nested too deeply');
      expect(templateError(body)).toContain('expression nested too deeply');
    }
    expect(() => checkTemplate({ body: `{{ agent.name | append: "${'[('.repeat(100)}" }}` })).not.toThrow();
  });
});

describe('Liquid memory and files', () => {
  const doubling = '{% assign s = "x" %}{% for i in (1..28) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{% if s contains "y" %}y{% endif %}';

  it('charges captures to the memory limit, so doubling a variable stops at a million characters', async () => {
    // Before: 2^28 characters built in microseconds, then flattened by `contains` (350 MB, seconds of CPU).
    const err = await renderTemplate({ body: doubling }, sampleVariables()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TemplateRenderError);
    expect(err).toMatchObject({ code: 'render_limit', message: expect.stringContaining('more memory than allowed') });
  });

  it('renders a prompt within its output cap, and falls back to the raw text past it', async () => {
    const loop = `{% for i in (1..${promptLimits.outputChars / 1000 + 1}) %}{{ agent.goal }}{% endfor %}`;
    expect(await renderPrompt(loop, { agent: { ...agent, goal: 'g'.repeat(1000) }, conversation: null })).toBe(loop);
    expect(await renderPrompt(doubling, { agent, conversation: null })).toBe(doubling);
    expect(await renderPrompt('Hi {{ agent.name }}', { agent, conversation: null })).toBe('Hi a');
  });

  it('a prompt cannot read the process files', async () => {
    const out = await renderPrompt("{% include 'package.json' %}", { agent, conversation: null });
    expect(out).not.toContain('smart-agents-orchestrator');
    expect(templateError("{% render 'package.json' %}")).toContain('not available');
  });
});

describe('tenant regular expressions (RE2)', () => {
  const facts = { conversationId: 'c', agentId: 'a', turnIndex: 0, toolFailures: 0, escalateToolReasons: [], responseTimeMs: 1 };

  it('a pattern that backtracks exponentially still finds its match (it was cut off and missed)', () => {
    const condition = deviationCondition.parse({ regex: '^(a|aa)+$|needle' });
    expect(deviationReasons(condition, { ...facts, userMessage: 'a'.repeat(40) + '! needle' })).toEqual(['message matches /^(a|aa)+$|needle/']);
    expect(deviationReasons(deviationCondition.parse({ regex: '^(a+)+$' }), { ...facts, userMessage: 'a'.repeat(40) + '!' })).toEqual([]);
  });

  it('refuses at save what RE2 cannot run, saying why; accepts JavaScript escapes and named groups', () => {
    for (const regex of ['(a)\\1', 'a(?=b)', '(?<!a)b']) {
      const parsed = deviationCondition.safeParse({ regex });
      expect(parsed.success, regex).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ['regex'], message: expect.stringContaining('RE2') });
    }
    expect(deviationReasons(deviationCondition.parse({ regex: 'caf\\u00e9 (?<n>\\d+)' }), { ...facts, userMessage: 'CAFÉ 12' })).toHaveLength(1);
  });

  it('a tool schema pattern cannot stall the worker validating arguments', () => {
    const run = runChild(`
      const { validateArguments } = await load('./src/tools/schema-check.ts');
      const schema = { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } };
      console.log(validateArguments(schema, { s: 'a'.repeat(40) + '!' }));`, { timeoutMs: 20_000 });
    expect(run.signal, 'the validation stalled until the child was killed').toBeNull();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toEqual(['/s must match pattern "^(a+)+$"']);
    expect(checkJsonSchema({ type: 'string', pattern: 'a(?!b)' })).toContain('RE2');
  });
});
