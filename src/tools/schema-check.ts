import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError } from '../errors.js';
import { ajvTenantRegExp } from '../tenant-expressions/regex.js';

// `pattern` in a tenant's schema runs on RE2, not V8's backtracking engine (see tenant-expressions/regex.ts).
const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: ajvTenantRegExp } });
addFormats(ajv);
const cache = new Map<string, ValidateFunction>();

/** A tool name the OpenAI tools format accepts as a function name. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Compiles a JSON Schema; returns the error text when it is not a valid schema. */
export function checkJsonSchema(schema: unknown): string | null {
  try {
    ajv.compile(schema as object);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Whether a tool can be offered to a model as an OpenAI function: a valid name, a description, and
 * parameters that are a JSON Schema object (type "object" with a properties map).
 */
export function isFunctionCallingCompatible(t: { name: string; description?: string | null; inputSchema: unknown }): boolean {
  const s = t.inputSchema as { type?: unknown; properties?: unknown } | null;
  return (
    TOOL_NAME.test(t.name) &&
    Boolean(t.description?.trim()) &&
    typeof s === 'object' &&
    s !== null &&
    s.type === 'object' &&
    (s.properties === undefined || (typeof s.properties === 'object' && s.properties !== null)) &&
    checkJsonSchema(s) === null
  );
}

/** Validates arguments against a tool's input schema; the message names each failing field. */
export function validateArguments(schema: Record<string, unknown>, args: unknown): string | null {
  const key = JSON.stringify(schema);
  let validate = cache.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    if (cache.size > 500) cache.clear();
    cache.set(key, validate);
  }
  if (validate(args)) return null;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`).join('; ');
}

/** @throws ValidationError naming `body.inputSchema` or `body.outputSchema` when either is not a valid JSON Schema. */
export function checkToolSchemas(body: { inputSchema?: unknown; outputSchema?: unknown }): void {
  for (const field of ['inputSchema', 'outputSchema'] as const) {
    if (body[field] === undefined || body[field] === null) continue;
    const problem = checkJsonSchema(body[field]);
    if (problem) throw new ValidationError(`invalid request: body.${field}: not a valid JSON Schema: ${problem}`, [{ field: `body.${field}`, message: problem }]);
  }
}
