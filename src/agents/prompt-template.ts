import { Context, toPromise } from 'liquidjs';
import { CappedEmitter, createTenantLiquid } from '../tenant-expressions/liquid-engine.js';
import { liquidShapeProblem } from '../tenant-expressions/liquid-shape.js';

/**
 * System prompts and first messages are Liquid templates written by a tenant and rendered in the worker
 * and the gateway. Rendering is bounded (time, memory, output size, nesting; no file system: before,
 * `{% include '.env' %}` put the worker's own files in the prompt), and a template that fails renders as
 * its raw text rather than failing the turn.
 */
export const promptLimits = {
  renderMs: 200,
  parseChars: 100_000,
  memoryUnits: 1_000_000,
  filterItems: 10_000,
  /** Longest rendered prompt, in UTF-16 units. */
  outputChars: 200_000,
} as const;

const engine = createTenantLiquid(promptLimits);

export interface PromptContext {
  agent: { name: string; goal: string; language: string };
  conversation: { id: string; title: string | null; externalUserId: string | null; variables: Record<string, unknown>; context: Record<string, unknown>; metadata: Record<string, unknown> } | null;
}

/** Parses after the nesting check, which liquidjs' recursive parser needs to survive hostile text. */
function parse(template: string) {
  const tooDeep = template.length <= promptLimits.parseChars ? liquidShapeProblem(engine, template) : null;
  if (tooDeep) throw new Error(`${tooDeep.message}, line:${tooDeep.line}, col:${tooDeep.column}`);
  return engine.parse(template);
}

export async function renderPrompt(template: string, ctx: PromptContext): Promise<string> {
  if (!template.includes('{{') && !template.includes('{%')) return template;
  // Exactly the conversation fields the context declares (callers pass the whole row): the counters and times a
  // turn's start writes while its request is built would make the prompt depend on which finished first.
  const c = ctx.conversation;
  const conversation = c
    ? { id: c.id, title: c.title, externalUserId: c.externalUserId, variables: c.variables, context: c.context, metadata: c.metadata }
    : {};
  const scope = {
    agent: ctx.agent,
    conversation,
    variables: ctx.conversation?.variables ?? {},
    user: { id: ctx.conversation?.externalUserId ?? null, ...(ctx.conversation?.context ?? {}) },
  };
  try {
    const out = new CappedEmitter(promptLimits.outputChars, () => new Error('rendered prompt too large'));
    await toPromise(engine.renderer.renderTemplates(parse(template), new Context(scope, engine.options, {}, { liquid: engine }), out));
    return out.buffer;
  } catch {
    return template;
  }
}

/** A template that does not parse or nests too deeply: the message says where, for a 400 at save time. */
export function templateError(template: string): string | null {
  try {
    parse(template);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
