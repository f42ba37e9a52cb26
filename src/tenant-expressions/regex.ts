import { RE2JS } from 're2js';

/*
 * Regular expressions written by a tenant (deviation rules, keywords, `pattern` in a tool's JSON Schema) run
 * on RE2 (re2js, pure JavaScript), never on V8's Irregexp:
 * - RE2 matches in time linear in the text, so `^(a+)+$` cannot stall a worker (Irregexp backtracks
 *   exponentially, and a `vm` timeout around it still burns the full deadline on every turn);
 * - V8 compiles a pattern lazily, and a compile that runs out of stack or zone memory is a fatal
 *   process error ("RegExpCompiler Allocation failed"), not an exception: no tenant text may reach it.
 * RE2 refuses what needs backtracking (backreferences, lookahead, lookbehind); rules are checked at save.
 */

/** Longest text a tenant pattern is matched against: RE2 is linear, this bounds the constant. */
export const MAX_MATCHED_CHARS = 20_000;

/** A tenant pattern RE2 cannot run; `message` says why, for a 400 at save time. */
export class TenantRegexError extends Error {
  override readonly name = 'TenantRegexError';
}

/**
 * JavaScript's `\uXXXX` and `\u{X}` escapes as RE2's `\x{X}`; everything else is left as written (RE2JS's own
 * `translateRegExp` would also turn a backreference `\k<name>` into the literal text "k<name>").
 */
function translateUnicodeEscapes(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') {
      out += pattern[i];
      continue;
    }
    const escape = /^u(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(pattern.slice(i + 1, i + 10));
    if (escape) {
      out += `\\x{${escape[1] ?? escape[2]}}`;
      i += escape[0].length;
    } else {
      out += pattern.slice(i, i + 2);
      i++;
    }
  }
  return out;
}

/** Compiles a tenant pattern written in JavaScript syntax (`(?<name>…)` groups and `\u` escapes included). */
export function compileTenantRegex(pattern: string, opts: { ignoreCase?: boolean } = {}): RE2JS {
  try {
    return RE2JS.compile(translateUnicodeEscapes(pattern), opts.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : String(err);
    throw new TenantRegexError(
      `${detail} (patterns run on RE2: no backreferences, lookahead or lookbehind)`,
    );
  }
}

/** Why a pattern cannot be saved, or null when RE2 accepts it. */
export function tenantRegexProblem(pattern: string): string | null {
  try {
    compileTenantRegex(pattern);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Whether the pattern matches anywhere in the first `MAX_MATCHED_CHARS` characters of `text`. */
export function tenantRegexFinds(re: RE2JS, text: string): boolean {
  return re.test(text.slice(0, MAX_MATCHED_CHARS));
}

/**
 * Whole-word, case-insensitive match of a literal keyword (`c++` and `возврат` included): a keyword
 * is neither preceded nor followed by a letter or digit of any script.
 */
export function keywordRegex(keyword: string): RE2JS {
  return RE2JS.compile(`(?:^|[^\\p{L}\\p{N}])${RE2JS.quote(keyword)}(?:$|[^\\p{L}\\p{N}])`, RE2JS.CASE_INSENSITIVE);
}

/**
 * The `code.regExp` engine for Ajv: JSON Schema `pattern` and `patternProperties` of tenant-written tool
 * schemas compile to RE2 (an invalid or unsupported pattern fails the schema's compile, i.e. its save).
 */
export const ajvTenantRegExp = Object.assign(
  (pattern: string, _flags: string) => {
    const re = compileTenantRegex(pattern);
    return { test: (s: string) => tenantRegexFinds(re, s) };
  },
  { code: 'tenantRegExp' },
);
