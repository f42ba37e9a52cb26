import type { Liquid } from 'liquidjs';
import { createTenantLiquid } from '../../tenant-expressions/liquid-engine.js';

/*
 * The Liquid engine of notification templates, with its limits: what a template may do and for how long.
 * `templates.ts` parses, checks and renders with it.
 */

export { FilterLimitError } from '../../tenant-expressions/liquid-engine.js';

/**
 * A template must not hang or bloat the process rendering it (a gateway preview, a worker sending
 * notifications). liquidjs checks the time limit before every tag and output, the memory limit before
 * every allocation it makes (ranges, string and array filters, and here captures), and counts the parse
 * limit in characters.
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

/**
 * Strict on names and filters so typos fail loudly (in a preview) instead of sending blank text; no file
 * system; dates in UTC whatever the host's zone. Output is not HTML-escaped: email bodies are plain text,
 * and a template that builds HTML escapes with `| escape`.
 */
function createEngine(): Liquid {
  // `{% if trigger.keyword %}` and `| default:` work on keys a trigger may not have.
  return createTenantLiquid(templateLimits, { strictVariables: true, lenientIf: true });
}

// Shared: the engine holds configuration only (no cache); limits and state live in each render's Context.
export const engine = createEngine();
