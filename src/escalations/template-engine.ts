import { Liquid, toValue, type FilterImplOptions, type FS } from 'liquidjs';

/*
 * The Liquid engine of notification templates, with its limits: what a template may do and for how long.
 * `templates.ts` parses, checks and renders with it.
 */

/**
 * A template must not hang or bloat the process rendering it (a gateway preview, a worker sending
 * notifications). liquidjs checks the time limit before every tag and output, the memory limit before
 * every allocation it makes (ranges, string and array filters), and counts the parse limit in characters.
 */
export const templateLimits = {
  renderMs: 250,
  outputBytes: 64 * 1024,
  parseChars: 256 * 1024,
  /** liquidjs memory units (array items, string characters) allocated over one render of a field. */
  memoryUnits: 1_000_000,
  /** Longest array a filter accepts: one filter call cannot be interrupted, so its input is kept small. */
  filterItems: 10_000,
} as const;

const refuseFiles = (): never => {
  throw new Error('notification templates cannot read files');
};
const noFiles: FS = { exists: async () => false, existsSync: () => false, readFile: refuseFiles, readFileSync: refuseFiles, resolve: (_dir, file) => file };

/** A filter refused an input too large to process within the render limits. */
export class FilterLimitError extends Error {}

/**
 * liquidjs checks the time only between tags and outputs, so a chain of filters in one output, or one
 * filter evaluating an expression per item (`find_exp`, `where`, `sort`…), could run for seconds. Every
 * filter therefore checks the deadline before it runs and refuses arrays longer than `filterItems`.
 */
function guardFilter(name: string, impl: FilterImplOptions): FilterImplOptions {
  const handler = typeof impl === 'function' ? impl : impl.handler;
  const guarded: typeof handler = function (value, ...args) {
    this.context.renderLimit.check(performance.now());
    const input: unknown = toValue(value);
    if (Array.isArray(input) && input.length > templateLimits.filterItems) {
      throw new FilterLimitError(`filter "${name}" accepts at most ${templateLimits.filterItems} items, got ${input.length}`);
    }
    return handler.call(this, value, ...args);
  };
  return typeof impl === 'function' ? guarded : { ...impl, handler: guarded };
}

/**
 * Strict on names and filters so typos fail loudly (in a preview) instead of sending blank text; no file
 * system; dates in UTC whatever the host's zone. Output is not HTML-escaped: email bodies are plain text,
 * and a template that builds HTML escapes with `| escape`.
 */
function createEngine(): Liquid {
  const engine = new Liquid({
    strictVariables: true, strictFilters: true, ownPropertyOnly: true,
    // `{% if trigger.keyword %}` and `| default:` work on keys a trigger may not have.
    lenientIf: true,
    fs: noFiles, relativeReference: false, root: [], cache: false, timezoneOffset: 0,
    parseLimit: templateLimits.parseChars, renderLimit: templateLimits.renderMs, memoryLimit: templateLimits.memoryUnits,
  });
  for (const [name, impl] of Object.entries(engine.filters)) engine.registerFilter(name, guardFilter(name, impl));
  for (const tag of ['include', 'render', 'layout']) {
    engine.registerTag(tag, {
      parse() {
        throw new Error(`tag "${tag}" is not available: notification templates cannot load other templates`);
      },
      render: () => '',
    });
  }
  return engine;
}

// Shared: the engine holds configuration only (no cache); limits and state live in each render's Context.
export const engine = createEngine();
