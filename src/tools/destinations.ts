/**
 * Where a tool sends its credentials. A credential is bound to the origins its tool pointed at when it
 * was saved (sealed with it, so nobody can edit the binding): changing where it goes means entering it
 * again, and no assignment override or model argument can move it elsewhere.
 */
import type { ResolvedTool } from './types.js';

export type ToolDestinations = { origins: string[] } | { problem: string };

/** `scheme://authority` of a URL template: everything before the path, query or fragment. */
const authorityOf = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The origins a tool of `toolType` with `config` sends requests (and so its credentials) to. api, webhook
 * and mcp tools call `config.url`; an api URL template whose scheme or authority holds a placeholder has
 * no fixed origin, so credentials cannot be bound to it. Database tools carry their host inside the
 * sealed connection string and JavaScript tools get no credentials: neither has a config destination.
 * A config without a usable URL yields no origins; its runner refuses it anyway.
 */
export function toolDestinations(toolType: string, config: Record<string, unknown>): ToolDestinations {
  if (toolType !== 'api' && toolType !== 'webhook' && toolType !== 'mcp') return { origins: [] };
  const url = config.url;
  if (typeof url !== 'string') return { origins: [] };
  const authority = authorityOf.exec(url)?.[0];
  if (toolType === 'api' && authority?.includes('{')) {
    return { problem: 'config.url takes its scheme or host from the arguments, so credentials cannot be bound to one destination' };
  }
  try {
    return { origins: [new URL(toolType === 'api' ? url.replace(/\{[^}]*\}/g, 'x') : url).origin] };
  } catch {
    return { origins: [] };
  }
}

/** True when every origin of `next` is one of `bound`. */
export function withinOrigins(next: string[], bound: readonly string[]): boolean {
  return next.every((origin) => bound.includes(origin));
}

/** Why `tool` may not send its credentials to `origin`, or null when it may. */
export function credentialRefusal(tool: Pick<ResolvedTool, 'credentials' | 'credentialOrigins'>, origin: string): string | null {
  if (!tool.credentials) return null;
  if (tool.credentialOrigins?.includes(origin)) return null;
  return `the tool's credentials are bound to ${tool.credentialOrigins?.join(', ') || 'no destination'} and are not sent to ${origin}; enter them again to use them there`;
}
