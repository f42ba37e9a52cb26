import { analyzeSync, Context, LiquidError, toPromise, type Template } from 'liquidjs';
import { CappedEmitter } from '../../tenant-expressions/liquid-engine.js';
import { liquidShapeProblem } from '../../tenant-expressions/liquid-shape.js';
import { engine, FilterLimitError, templateLimits } from './template-engine.js';
import { variableNames, type NotificationVariables, type TemplateSource } from './template-variables.js';

export { templateLimits } from './template-engine.js';

export {
  defaultTemplate, mergeVariables, sampleVariables, variableNames, type NotificationVariables, type TemplateSource,
} from './template-variables.js';

export type TemplateField = 'subject' | 'body';

/**
 * Thrown when a template is saved (and by `renderTemplate` for text that was never checked): the text
 * does not parse, uses an unknown filter, a refused tag (`include`, `render`, `layout`) or a top-level
 * variable that notifications never have. `line` and `column` are 1-based and point at the culprit.
 */
export class TemplateSyntaxError extends Error {
  constructor(
    readonly field: TemplateField,
    readonly line: number,
    readonly column: number,
    detail: string,
  ) {
    super(`${field}: line ${line}, column ${column}: ${detail}`);
    this.name = 'TemplateSyntaxError';
  }
}

export type TemplateRenderErrorCode = 'undefined_variable' | 'render_limit' | 'output_too_large' | 'render_failed';

/**
 * Thrown when a valid template fails on given variables: a missing property (strict variables), a limit
 * (time or memory: `render_limit`; text: `output_too_large`) or a filter failing on its input. Callers
 * sending real notifications fall back to the default template; previews show the message.
 */
export class TemplateRenderError extends Error {
  constructor(
    readonly code: TemplateRenderErrorCode,
    readonly field: TemplateField,
    detail: string,
    /** 1-based position of the failing tag or output, when liquidjs knows it. */
    readonly line: number | null = null,
    readonly column: number | null = null,
  ) {
    super(line === null ? `${field}: ${detail}` : `${field}: line ${line}, column ${column}: ${detail}`);
    this.name = 'TemplateRenderError';
  }
}

/** Per-render limits; the defaults are in `templateLimits`. */
export interface RenderLimits {
  /** Time for subject and body together. */
  renderMs?: number;
  /** UTF-8 size of each rendered field. */
  outputBytes?: number;
}


/** The liquidjs message without the ", line:3, col:5" it appends (we say where in our own words). */
function baseMessage(err: Error): string {
  const original = (err as { originalError?: Error }).originalError;
  return (original ?? err).message.replace(/(, file:.*?)?, line:\d+, col:\d+$/, '');
}

function describeParseFailure(err: Error): string {
  const message = baseMessage(err);
  const stray = /^tag "(end\w+|else|elsif|when)" not found$/.exec(message);
  if (stray) return `"{% ${stray[1]} %}" has no opening tag to close`;
  if (message === 'parse length limit exceeded') return `template longer than ${templateLimits.parseChars} characters`;
  return message === 'Maximum call stack size exceeded' ? 'tags nested too deeply' : message;
}

function parseField(field: TemplateField, text: string): Template[] {
  // Before parsing: liquidjs parses nesting by recursion, and running out of stack can be fatal.
  const tooDeep = text.length <= templateLimits.parseChars ? liquidShapeProblem(engine, text) : null;
  if (tooDeep) throw new TemplateSyntaxError(field, tooDeep.line, tooDeep.column, tooDeep.message);
  let templates: Template[];
  try {
    templates = engine.parse(text);
  } catch (err) {
    if (LiquidError.is(err)) {
      const [line = 1, column = 1] = err.token.getPosition();
      throw new TemplateSyntaxError(field, line, column, describeParseFailure(err));
    }
    throw new TemplateSyntaxError(field, 1, 1, describeParseFailure(err as Error));
  }
  return templates;
}

function checkNames(field: TemplateField, templates: Template[]): void {
  const known: readonly string[] = variableNames;
  for (const [name, uses] of Object.entries(analyzeSync(templates, { partials: false }).globals)) {
    if (known.includes(name)) continue;
    const where = uses[0]?.location ?? { row: 1, col: 1 };
    throw new TemplateSyntaxError(field, where.row, where.col, `unknown variable "${name}" (available: ${known.join(', ')})`);
  }
}

/**
 * Save-time check of both fields: syntax, filters, refused tags and top-level names. Properties below
 * the top level (`agent.nickname`) are only known at render time.
 * @throws TemplateSyntaxError
 */
export function checkTemplate(source: TemplateSource): void {
  if (source.subject !== undefined && source.subject !== null) checkNames('subject', parseField('subject', source.subject));
  checkNames('body', parseField('body', source.body));
}

const tooLarge = (field: TemplateField, maxBytes: number) =>
  new TemplateRenderError('output_too_large', field, `rendered text is larger than ${maxBytes} bytes`);

function toRenderError(field: TemplateField, err: unknown, renderMs: number): TemplateRenderError {
  if (err instanceof TemplateRenderError) return err;
  if (!(err instanceof Error)) return new TemplateRenderError('render_failed', field, String(err));
  const cause = (err as { originalError?: unknown }).originalError ?? err;
  if (cause instanceof TemplateRenderError) return cause;
  const [line, column] = LiquidError.is(err) ? err.token.getPosition() : [];
  const at = [line ?? null, column ?? null] as const;
  const message = baseMessage(err);
  if (err.name === 'UndefinedVariableError') return new TemplateRenderError('undefined_variable', field, message, ...at);
  if (message === 'template render limit exceeded') {
    return new TemplateRenderError('render_limit', field, `rendering took longer than ${renderMs} ms (a loop too large?)`, ...at);
  }
  if (cause instanceof FilterLimitError) return new TemplateRenderError('render_limit', field, message, ...at);
  if (message === 'Maximum call stack size exceeded') return new TemplateRenderError('render_limit', field, 'tags nested too deeply', ...at);
  if (message === 'memory alloc limit exceeded' || cause instanceof RangeError) {
    return new TemplateRenderError('render_limit', field, 'rendering needed more memory than allowed (a range or string too large?)', ...at);
  }
  return new TemplateRenderError('render_failed', field, message, ...at);
}

interface Budget {
  deadline: number;
  renderMs: number;
  maxBytes: number;
}

async function renderField(field: TemplateField, text: string, vars: NotificationVariables, budget: Budget) {
  const templates = parseField(field, text);
  const remainingMs = Math.max(1, budget.deadline - performance.now());
  const ctx = new Context(vars, engine.options, { renderLimit: remainingMs }, { liquid: engine });
  // UTF-16 length never exceeds UTF-8 size: stops runaway output early without measuring every write.
  const out = new CappedEmitter(budget.maxBytes, () => tooLarge(field, budget.maxBytes));
  try {
    await toPromise(engine.renderer.renderTemplates(templates, ctx, out));
  } catch (err) {
    throw toRenderError(field, err, budget.renderMs);
  }
  if (Buffer.byteLength(out.buffer, 'utf8') > budget.maxBytes) throw tooLarge(field, budget.maxBytes);
  return out.buffer;
}

/**
 * Renders subject (when there is one) and body with the notification variables, within the limits.
 * @throws TemplateRenderError when the render fails or exceeds a limit
 * @throws TemplateSyntaxError when the text does not parse (never for templates saved through the API)
 */
export async function renderTemplate(
  source: TemplateSource,
  vars: NotificationVariables,
  limits: RenderLimits = {},
): Promise<{ subject: string | null; body: string }> {
  const renderMs = limits.renderMs ?? templateLimits.renderMs;
  const budget = { deadline: performance.now() + renderMs, renderMs, maxBytes: limits.outputBytes ?? templateLimits.outputBytes };
  const subject = source.subject === undefined || source.subject === null ? null : await renderField('subject', source.subject, vars, budget);
  return { subject, body: await renderField('body', source.body, vars, budget) };
}
