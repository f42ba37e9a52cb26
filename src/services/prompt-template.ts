import { Liquid } from 'liquidjs';

/**
 * System prompts and first messages are Liquid templates. Rendering is bounded (time, output size) so a
 * template cannot hang a worker, and a template that fails renders as its raw text rather than failing
 * the turn.
 */
const engine = new Liquid({ strictFilters: true, renderLimit: 200, memoryLimit: 1_000_000, parseLimit: 100_000 });

export interface PromptContext {
  agent: { name: string; goal: string; language: string };
  conversation: { id: string; title: string | null; externalUserId: string | null; variables: Record<string, unknown>; context: Record<string, unknown>; metadata: Record<string, unknown> } | null;
}

export async function renderPrompt(template: string, ctx: PromptContext): Promise<string> {
  if (!template.includes('{{') && !template.includes('{%')) return template;
  try {
    return await engine.parseAndRender(template, {
      agent: ctx.agent,
      conversation: ctx.conversation ?? {},
      variables: ctx.conversation?.variables ?? {},
      user: { id: ctx.conversation?.externalUserId ?? null, ...(ctx.conversation?.context ?? {}) },
    });
  } catch {
    return template;
  }
}

/** A template that does not parse: the message says where, for a 400 at save time. */
export function templateError(template: string): string | null {
  try {
    engine.parse(template);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
