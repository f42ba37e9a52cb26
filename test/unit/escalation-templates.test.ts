import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  checkTemplate,
  defaultTemplate,
  mergeVariables,
  renderTemplate,
  sampleVariables,
  TemplateRenderError,
  TemplateSyntaxError,
  templateLimits,
  type NotificationVariables,
  type RenderLimits,
  type TemplateSource,
} from '../../src/escalations/notifications/template-render';
import { channels } from '../../workflows/contracts/index';

const vars = sampleVariables();
const withoutContext = mergeVariables(vars, {
  conversation: null, turn: null, links: { acknowledge: null, resolve: null }, event: { reason: null }, recipient: { name: null, email: null },
});

function syntaxError(source: TemplateSource): TemplateSyntaxError {
  try {
    checkTemplate(source);
  } catch (err) {
    if (err instanceof TemplateSyntaxError) return err;
    throw err;
  }
  throw new Error('checkTemplate accepted the template');
}

async function renderError(body: string, limits?: RenderLimits, variables = vars) {
  const err = await renderTemplate({ body }, variables, limits).then(
    () => { throw new Error('the render succeeded'); },
    (e: unknown) => e,
  );
  if (!(err instanceof TemplateRenderError)) throw err;
  return { err };
}

describe('save-time check', () => {
  it('reports where a syntax error is, 1-based, in the field it is in', () => {
    const unclosed = syntaxError({ subject: 'Escalation', body: 'Hello {{ recipient.name }},\n\n  {% if conversation %}\nConversation {{ conversation.id }}\n' });
    expect(unclosed).toMatchObject({ field: 'body', line: 3, column: 3 });
    expect(unclosed.message).toBe('body: line 3, column 3: tag {% if conversation %} not closed');

    const stray = syntaxError({ body: 'one\ntwo\n    {% endif %}' });
    expect(stray).toMatchObject({ field: 'body', line: 3, column: 5 });
    expect(stray.message).toBe('body: line 3, column 5: "{% endif %}" has no opening tag to close');

    const output = syntaxError({ subject: 'ok {{ rule.name', body: 'fine' });
    expect(output).toMatchObject({ field: 'subject', line: 1, column: 4 });
  });

  it('refuses an unknown filter when saving', () => {
    expect(syntaxError({ body: 'Agent:\n  {{ agent.name | shout }}' })).toMatchObject({ field: 'body', line: 2, column: 3, message: expect.stringContaining('undefined filter: shout') });
  });

  it('refuses a top-level name that notifications never have, and accepts locals', () => {
    expect(syntaxError({ body: 'Hi\n{{ agnet.name }}' })).toMatchObject({ line: 2, column: 4, message: expect.stringContaining('unknown variable "agnet"') });
    expect(() =>
      checkTemplate({ body: '{% assign n = agent.name %}{% capture c %}{{ n }}{% endcapture %}{% for m in trigger.matched %}{{ forloop.index }}{{ m }}{% endfor %}{{ c }}' }),
    ).not.toThrow();
  });

  it('refuses include, render and layout when saving, and never reads the file', async () => {
    for (const tag of ['include', 'render', 'layout']) {
      const source = { body: `Start\n {% ${tag} 'package.json' %}` };
      expect(syntaxError(source)).toMatchObject({ line: 2, column: 2, message: expect.stringContaining(`tag "${tag}" is not available`) });
      await expect(renderTemplate(source, vars)).rejects.toBeInstanceOf(TemplateSyntaxError);
    }
  });

  it('refuses text longer than the parse limit, and nesting deeper than the stack', () => {
    expect(syntaxError({ body: 'x'.repeat(templateLimits.parseChars + 1) }).message).toContain('longer than');
    const deep = '{% if agent %}'.repeat(10_000) + 'x' + '{% endif %}'.repeat(10_000);
    expect(syntaxError({ body: deep }).message).toContain('tags nested too deeply');
  });
});

describe('rendering', () => {
  it('fails on a property that does not exist (strict variables), with its position', async () => {
    const { err } = await renderError('Agent:\n  {{ agent.nickname }}');
    expect(err).toMatchObject({ code: 'undefined_variable', field: 'body', line: 2, column: 6 });
    expect(err.message).toContain('undefined variable: agent.nickname');
  });

  it('does not reach prototypes', async () => {
    expect((await renderError('{{ agent.constructor }}')).err.code).toBe('undefined_variable');
  });

  it('renders a property of a null object as empty text; `if` guards it', async () => {
    const out = await renderTemplate({ body: '[{{ conversation.id }}]{% if conversation %}yes{% else %}none{% endif %}' }, withoutContext);
    expect(out.body).toBe('[]none');
  });

  it('lets `if` and `default` test trigger keys that may be absent', async () => {
    const out = await renderTemplate({ body: '{% if trigger.metric %}m{% endif %}{{ trigger.metric | default: "n/a" }} {{ trigger.keyword }}' }, vars);
    expect(out.body).toBe('n/a refund');
  });

  it('does not HTML-escape (email bodies are plain text) unless asked', async () => {
    const v = mergeVariables(vars, { turn: { userMessage: '<b>R&D</b>' } });
    expect((await renderTemplate({ body: '{{ turn.userMessage }} {{ turn.userMessage | escape }}' }, v)).body).toBe('<b>R&D</b> &lt;b&gt;R&amp;D&lt;/b&gt;');
  });

  it('formats dates in UTC', async () => {
    expect((await renderTemplate({ body: '{{ event.createdAt | date: "%Y-%m-%d %H:%M" }}' }, vars)).body).toBe('2025-03-14 09:26');
  });

  it('renders the subject only when there is one', async () => {
    expect(await renderTemplate({ subject: 'About {{ agent.name }}', body: 'b' }, vars)).toEqual({ subject: 'About Support Assistant', body: 'b' });
    expect(await renderTemplate({ subject: null, body: 'b' }, vars)).toEqual({ subject: null, body: 'b' });
  });
});

/**
 * `probe.tick` in a template counts how often the render got there, so a limit test asserts where the render
 * stopped instead of how long it took. With `stepMs`, each tick also moves the fake `performance.now()`
 * (the clock renderTemplate and liquidjs read) by that much: a time limit of N ms then allows N ms of
 * ticks however fast or loaded the machine is.
 */
function probed(stepMs = 0) {
  let ticks = 0;
  const probe = {
    get tick() {
      ticks++;
      if (stepMs) vi.advanceTimersByTime(stepMs);
      return '';
    },
  };
  return { variables: { ...vars, probe } as NotificationVariables, ticks: () => ticks };
}

function useSteppedClock() {
  vi.useFakeTimers({ toFake: ['performance'] });
  onTestFinished(() => void vi.useRealTimers());
}

describe('limits', () => {
  it('counts template reads of probe.tick', async () => {
    const { variables, ticks } = probed();
    expect((await renderTemplate({ body: '{% for i in (1..10) %}{{ probe.tick }}{% endfor %}' }, variables)).body).toBe('');
    expect(ticks()).toBe(10);
  });

  // The memory tests keep the real clock with a time limit far beyond the test's, so only the memory limit
  // can stop them (a missing one fails on the message, not by a hang).
  it('cuts a loop over a huge range at once (memory limit)', async () => {
    const { variables, ticks } = probed();
    const { err } = await renderError('{% for i in (1..100000000) %}{{ i }}{{ probe.tick }}{% endfor %}', { renderMs: 10_000 }, variables);
    expect(err.code).toBe('render_limit');
    expect(err.message).toContain('more memory than allowed');
    expect(ticks()).toBe(0); // refused when the range was built, before the first iteration
  });

  it('cuts nested loops that allocate little by time', async () => {
    useSteppedClock();
    // A million ticks: without the limit the render ends (and this test fails) instead of hanging it.
    const body = '{% assign r = (1..100) %}{% for a in r %}{% for b in r %}{% for c in r %}{{ probe.tick }}{% endfor %}{% endfor %}{% endfor %}';
    for (const renderMs of [templateLimits.renderMs, 50]) {
      const { variables, ticks } = probed(1);
      const { err } = await renderError(body, renderMs === templateLimits.renderMs ? undefined : { renderMs }, variables);
      expect(err).toMatchObject({ code: 'render_limit', message: expect.stringContaining(`longer than ${renderMs} ms`) });
      // Ran until the deadline (nothing else stopped it) and no further than the next check after it.
      expect(ticks()).toBeGreaterThanOrEqual(renderMs);
      expect(ticks()).toBeLessThanOrEqual(renderMs + 2);
    }
  });

  it('cuts nested loops over ranges by memory', async () => {
    const { variables, ticks } = probed();
    const { err } = await renderError('{% for i in (1..600000) %}{% for j in (1..600000) %}{{ j }}{{ probe.tick }}{% endfor %}{% endfor %}', { renderMs: 10_000 }, variables);
    expect(err).toMatchObject({ code: 'render_limit', message: expect.stringContaining('more memory than allowed') });
    expect(ticks()).toBe(0);
  });

  it('cuts a long chain of filters inside one output, where liquidjs itself does not check the time', async () => {
    useSteppedClock();
    // Each find_exp evaluates its expression on all 1,000 items, moving the clock 1 s: the chain must stop
    // at the next filter, not run all 200 and end without liquidjs ever checking the time again.
    const { variables, ticks } = probed(1);
    const chain = Array.from({ length: 200 }, () => 'find_exp: "x", "probe.tick == 0" | default: r').join(' | ');
    const { err } = await renderError(`{% assign r = (1..1000) %}{{ r | ${chain} }}`, undefined, variables);
    expect(err).toMatchObject({ code: 'render_limit', message: expect.stringContaining('longer than') });
    expect(ticks()).toBe(1000);
  });

  it('refuses arrays too large for one uninterruptible filter call', async () => {
    const { err } = await renderError(`{% assign r = (1..${templateLimits.filterItems + 1}) %}{{ r | sort | size }}`);
    expect(err).toMatchObject({ code: 'render_limit', message: expect.stringContaining('filter "sort" accepts at most') });
  });

  it('stops output larger than the cap while rendering, not after', async () => {
    const { variables, ticks } = probed();
    const { err } = await renderError('{% for i in (1..1000000) %}{{ agent.name }}{{ probe.tick }}{% endfor %}', { renderMs: 10_000 }, variables);
    expect(err).toMatchObject({ code: 'output_too_large', field: 'body' });
    // Stopped at the write that crossed the cap, not after a million.
    expect(ticks()).toBeLessThanOrEqual(Math.ceil(templateLimits.outputBytes / vars.agent.name.length));
  });

  it('measures the cap in UTF-8 bytes', async () => {
    await expect(renderTemplate({ body: 'éééää' }, vars, { outputBytes: 10 })).resolves.toEqual({ subject: null, body: 'éééää' });
    expect((await renderError('ééééää', { outputBytes: 10 })).err.code).toBe('output_too_large');
  });
});

describe('default templates', () => {
  it.each(channels)('%s: passes the save check and renders with and without conversation, turn and links', async (channel) => {
    const source = defaultTemplate(channel);
    expect(() => checkTemplate(source)).not.toThrow();
    const full = await renderTemplate(source, vars);
    const bare = await renderTemplate(source, withoutContext);
    for (const out of [full, bare]) {
      expect(out.body).not.toMatch(/undefined|\[object Object\]/);
      if (channel === 'email' || channel === 'in_app') expect(out.subject).toContain('Refund requests');
      else expect(out.subject).toBeNull();
    }
    expect(full.body).toContain(channel === 'webhook' ? vars.conversation!.id : vars.agent.name);
    if (channel !== 'webhook') expect(bare.body).not.toContain(vars.conversation!.id);
  });

  it('webhook: the body is JSON whatever the values contain', async () => {
    const tricky = mergeVariables(vars, { event: { reason: 'quote " backslash \\ newline \n {{ x }}' } });
    const body = JSON.parse((await renderTemplate(defaultTemplate('webhook'), tricky)).body);
    expect(body).toMatchObject({ type: 'escalation', event: { reason: 'quote " backslash \\ newline \n {{ x }}' }, conversation: { id: vars.conversation!.id } });
    expect(JSON.parse((await renderTemplate(defaultTemplate('webhook'), withoutContext)).body)).toMatchObject({ conversation: null, turn: null });
  });

  it('email: plain text with the links when there are some', async () => {
    const { body } = await renderTemplate(defaultTemplate('email'), vars);
    expect(body).toContain(`Acknowledge: ${vars.links.acknowledge}`);
    expect(body).toContain('Hello Dana Whitfield,');
    expect((await renderTemplate(defaultTemplate('email'), withoutContext)).body).not.toContain('Acknowledge:');
  });
});

describe('mergeVariables', () => {
  it('merges objects deeply, lets null and arrays replace, keeps trigger equal to event.triggerData', () => {
    const merged = mergeVariables(vars, { agent: { name: 'Other' }, turn: null, event: { triggerData: { metric: 'turn_errors' } } }, { agent: { id: 'a1' } });
    expect(merged.agent).toEqual({ id: 'a1', name: 'Other' });
    expect(merged.turn).toBeNull();
    expect(merged.event.triggerData).toEqual({ keyword: 'refund', turnIndex: 4, matched: ['refund'], metric: 'turn_errors' });
    expect(merged.trigger).toBe(merged.event.triggerData);
    expect(vars.agent.name).toBe('Support Assistant');
  });

  it('drops __proto__ keys from JSON input', () => {
    const merged = mergeVariables(vars, JSON.parse('{"__proto__": {"polluted": true}, "agent": {"__proto__": {"x": 1}}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged.agent)).toBe(Object.prototype);
    expect('x' in merged.agent).toBe(false);
  });
});

describe('level numbers in templates', () => {
  it('count levels and passes from 1 like the API; `repeat` says how many times the policy started over', async () => {
    expect(vars.level).toMatchObject({ number: 1, pass: 1, repeat: 0 });
    const body = 'level {{ level.number }}/{{ level.count }} pass {{ level.pass }}/{{ level.passCount }} repeat {{ level.repeat }}';
    const first = await renderTemplate({ body }, vars);
    expect(first.body).toBe('level 1/2 pass 1/2 repeat 0');
    const repeat = mergeVariables(vars, { level: { number: 2, pass: 2, repeat: 1 } });
    expect((await renderTemplate({ body }, repeat)).body).toBe('level 2/2 pass 2/2 repeat 1');
    // The built-in e-mail says which pass only on a repeat, with the same numbers as the timeline.
    expect((await renderTemplate(defaultTemplate('email'), vars)).body).not.toContain('pass ');
    expect((await renderTemplate(defaultTemplate('email'), repeat)).body).toContain('level 2 of 2 (pass 2 of 2)');
  });
});
