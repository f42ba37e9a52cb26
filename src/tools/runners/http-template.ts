import { ToolError } from '../types.js';

const placeholder = /\{([A-Za-z_][\w-]*)\}/g;
const solePlaceholder = /^\{([A-Za-z_][\w-]*)\}$/;
const bareName = /^[A-Za-z_][\w-]*$/;

/**
 * Replaces each `{argName}` with the argument's value, passed through `encode` (URL templates use
 * `encodeURIComponent` so a value cannot add path segments or query parameters).
 * @throws ToolError `invalid_input` when a placeholder names a missing argument.
 */
export function renderTemplate(template: string, args: Record<string, unknown>, encode: (value: string) => string = (v) => v): string {
  return template.replace(placeholder, (_, name: string) => encode(stringify(argument(args, name))));
}

/** Renders every value of a header or query map. */
export function renderMap(map: Record<string, string> | undefined, args: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([key, template]) => [key, renderTemplate(template, args)]));
}

/**
 * Builds a JSON request body. `'args'` sends the arguments as they are. A mapping names, per body field,
 * either an argument (`"city"`, omitted when the model left that optional argument out), a sole
 * placeholder (`"{count}"`, which keeps the argument's JSON type) or a template (`"id-{n}"`, a string).
 */
export function buildBody(mapping: 'args' | Record<string, string>, args: Record<string, unknown>): unknown {
  if (mapping === 'args') return args;
  const body: Record<string, unknown> = {};
  for (const [field, source] of Object.entries(mapping)) {
    const sole = solePlaceholder.exec(source)?.[1];
    if (sole !== undefined) body[field] = argument(args, sole);
    else if (bareName.test(source)) {
      if (args[source] !== undefined) body[field] = args[source];
    } else body[field] = renderTemplate(source, args);
  }
  return body;
}

function argument(args: Record<string, unknown>, name: string): unknown {
  const value = Object.hasOwn(args, name) ? args[name] : undefined;
  if (value === undefined || value === null) throw new ToolError('invalid_input', `missing argument "${name}"`);
  return value;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}
