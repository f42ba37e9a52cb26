import {
  CaptureTag, Liquid, toValue, type Context, type Emitter, type FilterImplOptions, type FS, type LiquidOptions,
} from 'liquidjs';

/*
 * The one way a tenant's Liquid (notification templates, follow-up task inputs, agent prompts) gets an
 * engine: no file system, every allocation counted, every filter time-checked. `liquid-shape.ts` refuses
 * nesting that would exhaust the stack before anything is parsed.
 */

export interface TenantLiquidLimits {
  renderMs: number;
  parseChars: number;
  /** liquidjs memory units (array items, string characters) allocated over one render. */
  memoryUnits: number;
  /** Longest array a filter accepts: one filter call cannot be interrupted, so its input is kept small. */
  filterItems: number;
}

const refuseFiles = (): never => {
  throw new Error('templates cannot read files');
};
const noFiles: FS = { exists: async () => false, existsSync: () => false, readFile: refuseFiles, readFileSync: refuseFiles, resolve: (_dir, file) => file };

/** A filter refused an input too large to process within the render limits. */
export class FilterLimitError extends Error {}

/** liquidjs' own output stringification (nil → '', arrays joined). */
export function outputText(value: unknown): string {
  const v: unknown = toValue(value);
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(outputText).join('');
  return String(v);
}

/** Output that stops at `maxChars` (UTF-16 units) with the caller's error, instead of growing unbounded. */
export class CappedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly maxChars: number, private readonly tooLarge: () => Error) {}

  write(html: unknown): void {
    this.buffer += outputText(html);
    if (this.buffer.length > this.maxChars) throw this.tooLarge();
  }
}

/**
 * `{% capture %}` renders into a string liquidjs never counts: doubling a variable thirty times in a loop
 * (`{% capture s %}{{ s }}{{ s }}{% endcapture %}`) builds half a gigabyte in microseconds, which the
 * next `contains` or filter must then flatten. Here every write into a capture is charged to the render's
 * memory limit, so the doubling stops at `memoryUnits` characters.
 */
class CountedCaptureTag extends CaptureTag {
  override *render(ctx: Context): Generator<unknown, void, string> {
    const out: Emitter = {
      buffer: '',
      write(html: unknown) {
        const text = outputText(html);
        ctx.memoryLimit.use(text.length);
        this.buffer += text;
      },
    };
    yield this.liquid.renderer.renderTemplates(this.templates, ctx, out);
    ctx.bottom()[this.variable] = out.buffer;
  }
}

/**
 * liquidjs checks the time only between tags and outputs, so a chain of filters in one output, or one
 * filter evaluating an expression per item (`find_exp`, `where`, `sort`…), could run for seconds. Every
 * filter therefore checks the deadline before it runs and refuses arrays longer than `filterItems`.
 */
function guardFilter(name: string, impl: FilterImplOptions, maxItems: number): FilterImplOptions {
  const handler = typeof impl === 'function' ? impl : impl.handler;
  const guarded: typeof handler = function (value, ...args) {
    this.context.renderLimit.check(performance.now());
    const input: unknown = toValue(value);
    if (Array.isArray(input) && input.length > maxItems) {
      throw new FilterLimitError(`filter "${name}" accepts at most ${maxItems} items, got ${input.length}`);
    }
    return handler.call(this, value, ...args);
  };
  return typeof impl === 'function' ? guarded : { ...impl, handler: guarded };
}

/**
 * An engine for tenant-written templates: strict filters, no file system and no tag that loads another
 * template (`include`, `render`, `layout` would read the process's own files, `.env` included), dates
 * in UTC, the given limits, counted captures and guarded filters. `options` adds engine settings.
 */
export function createTenantLiquid(limits: TenantLiquidLimits, options: LiquidOptions = {}): Liquid {
  const engine = new Liquid({
    strictFilters: true, ownPropertyOnly: true,
    ...options,
    fs: noFiles, relativeReference: false, root: [], partials: [], layouts: [], cache: false, timezoneOffset: 0,
    parseLimit: limits.parseChars, renderLimit: limits.renderMs, memoryLimit: limits.memoryUnits,
  });
  for (const [name, impl] of Object.entries(engine.filters)) engine.registerFilter(name, guardFilter(name, impl, limits.filterItems));
  for (const tag of ['include', 'render', 'layout']) {
    engine.registerTag(tag, {
      parse() {
        throw new Error(`tag "${tag}" is not available: templates cannot load other templates`);
      },
      render: () => '',
    });
  }
  engine.registerTag('capture', CountedCaptureTag);
  return engine;
}
