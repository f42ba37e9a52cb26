/**
 * Text Postgres cannot store: U+0000 (refused in `text` and `jsonb`) and lone UTF-16 surrogates (refused in
 * `jsonb`, silently replaced in `text`). A paired surrogate is one astral code point and is fine.
 */
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Deeper than any request needs; deep enough JSON overflows the stack of whoever serialises it next. */
export const MAX_JSON_DEPTH = 64;

/**
 * More values (the part itself, every array element and object member) than any request part needs. A 1 MB
 * body holds up to ~500,000 of them; the cap bounds this walk and every later walk of the same value.
 */
export const MAX_JSON_VALUES = 100_000;

export interface UnsafeField {
  field: string;
  message: string;
}

type Container = object;

/** One array or object still to visit. Its path is kept as a parent link and joined only for an answer. */
interface Node {
  value: Container;
  key: string;
  parent: Node | undefined;
  depth: number;
}

const unstorableValue = 'contains a NUL character or an unpaired UTF-16 surrogate';

function pathOf(node: Node, child?: string | number): string {
  const keys = child === undefined ? [] : [String(child)];
  for (let n: Node | undefined = node; n; n = n.parent) keys.push(n.key);
  return keys.reverse().join('.');
}

/**
 * Finds the first string (value or object key) Postgres could not store, a nesting deeper than
 * {@link MAX_JSON_DEPTH} or more than {@link MAX_JSON_VALUES} values anywhere in a request part.
 * Iterative, so hostile nesting cannot overflow the stack; each value is visited once and only containers are
 * queued, so the work is bounded by the value cap whatever the shape.
 */
export function findUnsafeText(value: unknown, where: string): UnsafeField | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? { field: where, message: unstorableValue } : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  let seen = 1;
  const pending: Node[] = [{ value, key: where, parent: undefined, depth: 1 }];
  for (let node = pending.pop(); node; node = pending.pop()) {
    if (node.depth > MAX_JSON_DEPTH) return { field: pathOf(node), message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    const keys = Array.isArray(node.value) ? undefined : Object.keys(node.value);
    const size = keys ? keys.length : (node.value as unknown[]).length;
    // Counted before any element is read: an over-long array costs nothing to refuse.
    seen += size;
    if (seen > MAX_JSON_VALUES) return { field: pathOf(node), message: `too many values (more than ${MAX_JSON_VALUES} in one request part)` };
    for (let i = 0; i < size; i++) {
      const key = keys?.[i];
      if (key !== undefined && UNSTORABLE.test(key)) return { field: pathOf(node), message: 'has a key with a NUL character or an unpaired UTF-16 surrogate' };
      const child: unknown = key === undefined ? (node.value as unknown[])[i] : (node.value as Record<string, unknown>)[key];
      if (typeof child === 'string') {
        if (UNSTORABLE.test(child)) return { field: pathOf(node, key ?? i), message: unstorableValue };
      } else if (typeof child === 'object' && child !== null) {
        pending.push({ value: child, key: key ?? String(i), parent: node, depth: node.depth + 1 });
      }
    }
  }
  return undefined;
}
