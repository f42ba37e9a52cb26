import { TagToken, TokenKind, Tokenizer, type Liquid, type TopLevelToken } from 'liquidjs';

/*
 * liquidjs parses and renders nested blocks (`{% if %}` in `{% if %}`) and nested expressions
 * (`a[b[c]]`, `(1..(1..2))`, grouped parentheses) by recursion. A template nested a few thousand deep
 * exhausts the stack, and whatever then compiles a regular expression near the stack's end (a stack
 * trace formatter, an error message) hits V8's "RegExpCompiler Allocation failed", which is fatal for
 * the whole process: it killed test processes in 4 of 8 runs of the escalation-template tests. So the
 * shape of a tenant's template is measured first, without recursion, and refused long before that.
 */

export const liquidShapeLimits = {
  /** Blocks open at once (`if`, `for`, `case`, `capture`, …). Real templates use a handful. */
  blockDepth: 40,
  /** Brackets and parentheses open at once inside one tag or output. */
  expressionDepth: 16,
} as const;

/** Where a template is too deeply nested; line and column are 1-based. */
export interface LiquidShapeProblem {
  line: number;
  column: number;
  message: string;
}

/** Tags that open a block closed by `end<name>`. */
const BLOCK_TAGS = new Set(['if', 'unless', 'for', 'case', 'capture', 'tablerow', 'comment', 'raw', 'block']);

/** Deepest nesting of `[` and `(` outside quoted strings. */
function expressionDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let quote: string | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '(') deepest = Math.max(deepest, ++depth);
    else if (ch === ']' || ch === ')') depth = Math.max(0, depth - 1);
  }
  return deepest;
}

/** The tags of a `{% liquid %}` tag: one per line, its name first. */
function liquidTagLines(args: string): Array<{ name: string; text: string }> {
  return args.split('\n').map((line) => {
    const text = line.trim();
    return { name: /^[\w-]*/.exec(text)?.[0] ?? '', text };
  });
}

class ShapeWalker {
  private depth = 0;

  check(name: string, text: string, at: () => number[]): LiquidShapeProblem | null {
    const where = () => {
      const [line = 1, column = 1] = at();
      return { line, column };
    };
    if (expressionDepth(text) > liquidShapeLimits.expressionDepth) {
      return { ...where(), message: `expression nested too deeply (more than ${liquidShapeLimits.expressionDepth} brackets or parentheses)` };
    }
    if (name.startsWith('end')) this.depth = Math.max(0, this.depth - 1);
    else if (BLOCK_TAGS.has(name) && ++this.depth > liquidShapeLimits.blockDepth) {
      return { ...where(), message: `tags nested too deeply (more than ${liquidShapeLimits.blockDepth} levels)` };
    }
    return null;
  }
}

function tokenProblem(walker: ShapeWalker, token: TopLevelToken): LiquidShapeProblem | null {
  const at = () => token.getPosition();
  if (token instanceof TagToken) {
    if (token.name !== 'liquid') return walker.check(token.name, token.args, at);
    for (const line of liquidTagLines(token.args)) {
      const problem = walker.check(line.name, line.text, at);
      if (problem) return problem;
    }
    return null;
  }
  if (token.kind === TokenKind.Output) return walker.check('', token.getText(), at);
  return null;
}

/**
 * The first place where `text` nests blocks or expressions deeper than `liquidShapeLimits`, or null.
 * Tokenizing is a loop, not a recursion; text that does not tokenize is left for `parse` to report.
 */
export function liquidShapeProblem(engine: Liquid, text: string): LiquidShapeProblem | null {
  let tokens: TopLevelToken[];
  try {
    tokens = new Tokenizer(text, engine.options.operators).readTopLevelTokens(engine.options);
  } catch {
    return null;
  }
  const walker = new ShapeWalker();
  for (const token of tokens) {
    const problem = tokenProblem(walker, token);
    if (problem) return problem;
  }
  return null;
}
