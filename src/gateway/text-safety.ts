/**
 * Text Postgres cannot store: U+0000 (refused in `text` and `jsonb`) and lone UTF-16 surrogates (refused in
 * `jsonb`, silently replaced in `text`). A paired surrogate is one astral code point and is fine.
 */
const UNSTORABLE = /\u0000|\p{Cs}/u;

/** Deeper than any request needs; deep enough JSON overflows the stack of whoever serialises it next. */
export const MAX_JSON_DEPTH = 64;

export interface UnsafeField {
  field: string;
  message: string;
}

/**
 * Finds the first string (value or object key) Postgres could not store, or a nesting deeper than
 * {@link MAX_JSON_DEPTH}, anywhere in a request part. Iterative, so hostile nesting cannot overflow the stack.
 */
export function findUnsafeText(value: unknown, where: string): UnsafeField | undefined {
  const pending: Array<{ value: unknown; path: string[] }> = [{ value, path: [where] }];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const { value: v, path } = item;
    if (typeof v === 'string') {
      if (UNSTORABLE.test(v)) return { field: path.join('.'), message: 'contains a NUL character or an unpaired UTF-16 surrogate' };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (path.length > MAX_JSON_DEPTH) return { field: path.join('.'), message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    for (const [key, child] of Object.entries(v)) {
      if (UNSTORABLE.test(key)) return { field: path.join('.'), message: 'has a key with a NUL character or an unpaired UTF-16 surrogate' };
      pending.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}
