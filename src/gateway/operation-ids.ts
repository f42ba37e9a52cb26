/*
 * Every operation of the API document gets an `operationId` that client generators turn into method names.
 * It comes from the method and the path only, so rewording a summary never renames a client's method;
 * a route whose derived name reads badly (or would collide) declares its own in its route spec.
 */

/** Path segments that name an action on the resource before them (`POST /tasks/{id}/cancel` → `cancelTask`). */
const actions = new Set(['acknowledge', 'cancel', 'clone', 'end', 'ignore', 'preview', 'read', 'resolve', 'resume', 'retry', 'search', 'snooze', 'test', 'upload']);

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The part of an OpenAPI document this module reads and writes. */
type Paths = Record<string, Partial<Record<(typeof methods)[number], { operationId?: string }>>>;

const isParam = (segment: string) => segment.startsWith('{');
const singular = (word: string) => (word.endsWith('ies') ? `${word.slice(0, -3)}y` : word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word);
const pascal = (word: string) =>
  word
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

/**
 * The derived id: a verb (list, get, create, update, set, delete, or the action segment) and the resources
 * of the path, singular except a listed collection: `GET /v1/conversations/{id}/messages` →
 * `listConversationMessages`, `POST /v1/agents` → `createAgent`, `DELETE /v1/agents/{id}/tools/{toolId}` →
 * `deleteAgentTool`.
 */
export function deriveOperationId(method: string, path: string): string {
  const segments = path.replace(/^\/v1(?=\/|$)/, '').split('/').filter(Boolean);
  const last = segments.at(-1) ?? '';
  const isAction = method === 'post' && !isParam(last) && actions.has(last) && segments.length > 1;
  const nouns = (isAction ? segments.slice(0, -1) : segments).filter((s) => !isParam(s));
  const endsInCollection = !isParam(isAction ? '' : last);
  const verb = isAction
    ? last
    : method === 'get'
      ? endsInCollection ? 'list' : 'get'
      : ({ post: 'create', patch: 'update', put: 'set', delete: 'delete' } as Record<string, string>)[method] ?? method;
  const keepPlural = verb === 'list';
  const words = nouns.map((n, i) => (keepPlural && i === nouns.length - 1 ? n : singular(n)));
  return verb + words.map(pascal).join('');
}

/**
 * Gives every operation without an explicit `operationId` its derived one, and refuses a document in which
 * two operations share an id (a client could not have both).
 */
export function assignOperationIds<T extends { paths?: Paths }>(document: T): T {
  const seen = new Map<string, string>();
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      operation.operationId ??= deriveOperationId(method, path);
      const where = `${method.toUpperCase()} ${path}`;
      const other = seen.get(operation.operationId);
      if (other) throw new Error(`operationId ${operation.operationId} of ${where} is also that of ${other}: give one of them an explicit operationId`);
      seen.set(operation.operationId, where);
    }
  }
  return document;
}
