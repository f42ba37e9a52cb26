/**
 * A small, seeded request generator over the gateway's own OpenAPI document, for the API fuzz test.
 * Values start valid-looking (from each schema) and are then broken in the ways hostile or careless
 * clients break them: wrong types, missing fields, hostile strings, extreme numbers, deep nesting.
 */

/** mulberry32: a tiny deterministic PRNG, so a failing run is reproduced by its seed. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}
export type Rng = ReturnType<typeof prng>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = Record<string, any>;

/** Strings that have broken services like ours: control characters, encodings, injections, sizes. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  'a\u0000b',
  'a\ud800b',
  '\udfff',
  '%',
  '%ZZ',
  '%00',
  '../../../../etc/passwd',
  "'; drop table project; --",
  '{{ 7 | times: 7 }}{% for i in (1..100000000) %}x{% endfor %}',
  '<div>'.repeat(2000),
  '\u202e\u0301\ufeff',
  'x'.repeat(70_000),
  '9'.repeat(400),
  'null',
  '__proto__',
  'https://169.254.169.254/latest/meta-data/',
  'javascript:alert(1)',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '-271821-04-20T00:00:00.000Z',
];

export const HOSTILE_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1e308,
  -1e308,
  2 ** 63,
  Number.MAX_SAFE_INTEGER + 2,
  0.5,
  [],
  {},
  [[[[[[[[[[]]]]]]]]]],
  { __proto__: { polluted: true } },
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}'),
  ...HOSTILE_STRINGS,
];

/** Follows `$ref`s into `components.schemas`. */
export function deref(doc: Schema, schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    s = doc.components?.schemas?.[s.$ref.split('/').pop()!] ?? {};
  }
  return s;
}

/** A plausible value for `schema`, using `ids` for uuid-formatted strings so requests reach real rows. */
export function generate(doc: Schema, raw: Schema | undefined, rng: Rng, ids: string[], depth = 0): unknown {
  const schema = deref(doc, raw);
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants) && variants.length > 0) return generate(doc, rng.pick(variants), rng, ids, depth + 1);
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return generate(doc, schema.allOf[0], rng, ids, depth + 1);
  if (schema.enum) return rng.pick(schema.enum);
  if (schema.const !== undefined) return schema.const;
  const type = Array.isArray(schema.type) ? rng.pick(schema.type) : schema.type;
  if (depth > 6) return null;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(schema.required ?? []);
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        if (required.has(name) || rng.chance(0.5)) out[name] = generate(doc, prop as Schema, rng, ids, depth + 1);
      }
      return out;
    }
    case 'array':
      return Array.from({ length: rng.int(3) }, () => generate(doc, schema.items, rng, ids, depth + 1));
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? 0;
      const max = Math.min(schema.maximum ?? min + 100, min + 100);
      return type === 'integer' ? min + rng.int(Math.max(1, max - min + 1)) : min + rng.next() * (max - min);
    }
    case 'boolean':
      return rng.chance(0.5);
    case 'null':
      return null;
    case 'string':
      return plausibleString(schema, rng, ids);
    default:
      return rng.chance(0.5) ? 'value' : 1;
  }
}

function plausibleString(schema: Schema, rng: Rng, ids: string[]): string {
  switch (schema.format) {
    case 'uuid':
      return rng.pick(ids);
    case 'email':
      return `fuzz${rng.int(1e6)}@example.com`;
    case 'date-time':
      return new Date(Date.UTC(2026, 0, 1 + rng.int(300))).toISOString();
    case 'uri':
    case 'url':
      return `https://example.com/${rng.int(1000)}`;
  }
  if (typeof schema.pattern === 'string' && /E\.164|\\\+/.test(schema.pattern)) return '+15555550100';
  const length = Math.max(schema.minLength ?? 1, Math.min(schema.maxLength ?? 12, 12));
  return 'f'.repeat(length);
}

/** Breaks one spot of `value`: replaces it with a hostile value, drops a key, or nests it deeply. */
export function mutate(value: unknown, rng: Rng): unknown {
  if (value === null || typeof value !== 'object' || rng.chance(0.15)) {
    return rng.chance(0.1) ? deepNest(100 + rng.int(400)) : rng.pick(HOSTILE_VALUES);
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0 || rng.chance(0.15)) {
    const key = rng.pick(['__proto__', 'constructor', 'a\u0000b', 'x'.repeat(300), 'extra', '%00']);
    (copy as Record<string, unknown>)[key] = rng.pick(HOSTILE_VALUES);
    return copy;
  }
  const key = rng.pick(keys);
  if (!Array.isArray(copy) && rng.chance(0.25)) {
    delete copy[key];
    return copy;
  }
  (copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], rng);
  return copy;
}

/** JSON nested deeper than a recursive validator's stack allows; built as text, as JSON.stringify would overflow too. */
export function deeplyNestedJson(depth: number): string {
  return '{"a":['.repeat(depth) + '1' + ']}'.repeat(depth);
}

function deepNest(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

/** Values for one path parameter: real ids (own and another tenant's), unknown ids and broken encodings. */
export function pathValue(rng: Rng, ids: string[], foreignIds: string[]): string {
  const roll = rng.next();
  if (roll < 0.35) return rng.pick(ids);
  if (roll < 0.5) return rng.pick(foreignIds);
  return rng.pick([
    '00000000-0000-0000-0000-000000000000',
    'not-a-uuid',
    '%',
    '%ZZ',
    '%00',
    '%E0%A4%A',
    '..%2F..%2Fetc',
    '1',
    '-1',
    '99999999999999999999',
    'a'.repeat(2000),
    encodeURIComponent('a\u0000b'),
  ]);
}

/** Values for one query parameter, including repeated parameters (which arrive as arrays). */
export function queryValue(doc: Schema, schema: Schema | undefined, rng: Rng, ids: string[]): string[] {
  if (rng.chance(0.5)) {
    const v = generate(doc, schema, rng, ids);
    return [typeof v === 'string' ? v : JSON.stringify(v)];
  }
  const hostile = [
    '-1', '0', '1e9', 'NaN', 'Infinity', '%', '%ZZ', '%00', 'a\u0000b', '', 'true', '[]',
    Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', ids[0]])).toString('base64url'),
    Buffer.from(JSON.stringify(['-271821-04-20T00:00:00.000Z', ids[0]])).toString('base64url'),
    Buffer.from(JSON.stringify(['0001-01-01T00:00:00.000Z', ids[0]])).toString('base64url'),
    Buffer.from(JSON.stringify([{}, ids[0]])).toString('base64url'),
    Buffer.from('not json').toString('base64url'),
    'x'.repeat(5000),
  ];
  return rng.chance(0.2) ? [rng.pick(hostile), rng.pick(hostile)] : [rng.pick(hostile)];
}
