import Handlebars from 'handlebars';

/** The three parts of a template version, each its own Handlebars template. */
export type TemplatePart = 'subject' | 'html' | 'plain';

/** Most compiled parts kept in memory, and most source bytes they may hold together. */
const CACHE_MAX_ENTRIES = 500;
const CACHE_MAX_BYTES = 64 * 1024 * 1024; // bytes
/** Most `{{#each}}` iterations (sections over arrays included) one part may run. */
const MAX_ITERATIONS = 100_000;
/** Most characters the loops of one part may produce, well above SendGrid's 30 MB message. */
const MAX_LOOP_OUTPUT = 32 * 1024 * 1024; // characters

/** The built-in helpers a template may call, with the number of arguments each takes. */
const HELPER_ARITY: Record<string, number> = { if: 1, unless: 1, each: 1, with: 1, lookup: 2 };
/** Handlebars' own fallbacks: registered as helpers, but never meant to be called by name. */
const INTERNAL_HELPERS = new Set(['helperMissing', 'blockHelperMissing']);

/**
 * A private Handlebars environment: only the built-in helpers above, never one supplied by a user;
 * no partials or decorators. Prototype access stays forbidden, the Handlebars 4.6+ default.
 */
const hb = Handlebars.create();
// `log` would write user-chosen text to Herald's own stdout on every render.
hb.unregisterHelper('log');
const builtinEach = hb.helpers['each']!;
let budget = { iterations: 0, output: 0 };
// The same helper behind a budget: nested loops over large data could otherwise hold a delivery
// worker for hours. Sections over arrays (`{{#items}}`) go through this helper too.
hb.registerHelper('each', function (this: unknown, context: unknown, options: Handlebars.HelperOptions) {
  const fn = options.fn;
  const counted = Object.assign(Object.create(null) as object, options, {
    fn: (value: unknown, runtime?: Handlebars.RuntimeOptions) => {
      if (++budget.iterations > MAX_ITERATIONS) throw new Error(`more than ${MAX_ITERATIONS} loop iterations`);
      const out = fn(value, runtime);
      budget.output += out.length;
      if (budget.output > MAX_LOOP_OUTPUT) throw new Error(`loops produced more than ${MAX_LOOP_OUTPUT} characters`);
      return out;
    },
  });
  return builtinEach.call(this, context, counted);
});

/** A template that cannot be saved: what is wrong and on which line (1-based) of the field. */
export interface TemplateSourceProblem {
  line: number | null;
  message: string;
}

/**
 * Checks a template part at save time, so delivery never meets a template it cannot compile:
 * Handlebars syntax, then what the runtime would refuse (unknown helpers, a built-in helper with
 * the wrong number of arguments, partials, decorators). Returns null when the part is usable.
 */
export function checkTemplateSource(source: string): TemplateSourceProblem | null {
  let program: hbs.AST.Program;
  try {
    program = hb.parse(source);
  } catch (error) {
    return syntaxProblem(error);
  }
  let problem: TemplateSourceProblem | null = null;
  const fail = (node: hbs.AST.Node, message: string): void => {
    problem ??= { line: node.loc?.start.line ?? null, message };
  };
  const checkCall = (node: hbs.AST.Node, path: hbs.AST.PathExpression | hbs.AST.Literal, params: unknown[], hash: hbs.AST.Hash | undefined): void => {
    const called = params.length > 0 || (hash?.pairs.length ?? 0) > 0 || node.type === 'SubExpression';
    if (path.type !== 'PathExpression') {
      if (called) fail(node, 'A helper must be named, not given as a literal.');
      return;
    }
    const p = path as hbs.AST.PathExpression;
    // Only a bare name can be a helper; `this.x`, `./x`, `../x` and `@x` are always data.
    const bare = !p.data && p.depth === 0 && p.parts.length === 1 && !/^(this([./]|$)|\.)/.test(p.original);
    const name = bare ? p.original : null;
    if (name !== null && Object.hasOwn(HELPER_ARITY, name)) {
      const arity = HELPER_ARITY[name]!;
      if (params.length !== arity) fail(node, `The ${name} helper takes exactly ${arity} argument${arity === 1 ? '' : 's'}; it was given ${params.length}.`);
    } else if (called || (name !== null && INTERNAL_HELPERS.has(name))) {
      fail(node, `${p.original} is not a helper Herald supports; the helpers are ${Object.keys(HELPER_ARITY).join(', ')}.`);
    }
  };
  const visitor = new Handlebars.Visitor();
  const base = Handlebars.Visitor.prototype;
  visitor.MustacheStatement = (node) => {
    checkCall(node, node.path, node.params, node.hash);
    base.MustacheStatement.call(visitor, node);
  };
  visitor.BlockStatement = (node) => {
    checkCall(node, node.path, node.params, node.hash);
    base.BlockStatement.call(visitor, node);
  };
  visitor.SubExpression = (node) => {
    checkCall(node, node.path, node.params, node.hash);
    base.SubExpression.call(visitor, node);
  };
  visitor.PartialStatement = (node) => fail(node, 'Partials ({{> name}}) are not supported.');
  visitor.PartialBlockStatement = (node) => fail(node, 'Partials ({{#> name}}) are not supported.');
  visitor.Decorator = (node) => fail(node, 'Decorators ({{* name}}) are not supported.');
  visitor.DecoratorBlock = (node) => fail(node, 'Inline partials and decorators ({{#* name}}) are not supported.');
  visitor.accept(program);
  if (problem) return problem;
  try {
    // What the parser lets through but the compiler refuses surfaces here, not at delivery.
    hb.precompile(source, { strict: false });
  } catch (error) {
    return syntaxProblem(error);
  }
  return null;
}

function syntaxProblem(error: unknown): TemplateSourceProblem {
  const e = error as { message?: string; lineNumber?: number };
  const text = String(e.message ?? error);
  // Parse errors read "Parse error on line 3:\n<excerpt>\n----^\nExpecting ..."; others carry
  // lineNumber and end with " - line:column".
  const line = typeof e.lineNumber === 'number' ? e.lineNumber : Number(/on line (\d+)/.exec(text)?.[1] ?? NaN);
  const detail = text
    .split('\n')
    .filter((l, i) => i === 0 || /^Expecting /.test(l))
    .map((l) => l.replace(/^Parse error on line \d+:$/, '').replace(/ - \d+:\d+$/, ''))
    .filter((l) => l !== '')
    .join(' ');
  return { line: Number.isFinite(line) ? line : null, message: detail || 'Handlebars syntax error.' };
}

/** A part could not be rendered; composing the message is pointless to retry. */
export class TemplateRenderError extends Error {
  override readonly name = 'TemplateRenderError';
  readonly versionId: string;
  readonly part: TemplatePart;

  constructor(versionId: string, part: TemplatePart, cause: unknown) {
    super(`template version ${versionId}: the ${part} part failed to render: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.versionId = versionId;
    this.part = part;
  }
}

interface CacheEntry {
  source: string;
  render: Handlebars.TemplateDelegate;
}

/** Compiled parts by version and part, least recently used first (Map keeps insertion order). */
const cache = new Map<string, CacheEntry>();
let cachedBytes = 0;

function compiled(versionId: string, part: TemplatePart, source: string): Handlebars.TemplateDelegate {
  const key = `${versionId}:${part}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cachedBytes -= hit.source.length;
    // A version edited after some mail was accepted keeps its id: the source decides, not the key.
    if (hit.source === source) {
      cache.set(key, hit);
      cachedBytes += source.length;
      return hit.render;
    }
  }
  // SendGrid's helpers escape HTML in html only; the subject and the text part are not HTML.
  const render = hb.compile(source, { strict: false, noEscape: part !== 'html' });
  cache.set(key, { source, render });
  cachedBytes += source.length;
  for (const [oldKey, old] of cache) {
    if (cache.size <= CACHE_MAX_ENTRIES && cachedBytes <= CACHE_MAX_BYTES) break;
    cache.delete(oldKey);
    cachedBytes -= old.source.length;
  }
  return render;
}

/**
 * Renders one part of a template version against a personalization's `dynamic_template_data`.
 * Compilation is lazy in Handlebars, so compile errors surface here too; every failure is a
 * TemplateRenderError. A rendered subject has its line breaks folded into spaces: the data was
 * never checked for header injection.
 */
export function renderTemplatePart(versionId: string, part: TemplatePart, source: string, data: Record<string, unknown>): string {
  budget = { iterations: 0, output: 0 };
  let out: string;
  try {
    out = compiled(versionId, part, source)(data);
  } catch (error) {
    throw new TemplateRenderError(versionId, part, error);
  }
  return part === 'subject' ? out.replace(/[\r\n\0]+/g, ' ') : out;
}

/** Empties the compiled-template cache (tests, and memory pressure). */
export function clearTemplateCache(): void {
  cache.clear();
  cachedBytes = 0;
}
