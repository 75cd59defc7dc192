/**
 * Finds and rewrites the references (`kubernetes_job_v1.migrate.metadata[0].name`,
 * `data.terraform_remote_state.platform.outputs.vpc`, `var.x`) inside the expression strings of
 * Terraform JSON: templates (`"${...}"`, `"%{...}"`, with `$${` and `%%{` as literal text) and the
 * bare expressions of meta-arguments (`depends_on: ["kubernetes_job_v1.migrate"]`).
 *
 * This is a scanner, not a parser: it knows strings, brackets and traversals, which is all a
 * rewrite of references needs. It never fails: text it cannot make sense of is copied unchanged,
 * and Terraform, which reads the result, reports the syntax error.
 */

/** A reference as written: a root name and its steps (`.name`, `.0`, `.*`, `[key]`, `[*]`). */
export interface Reference {
  readonly root: string;
  /** Steps as source text, with references inside `[...]` keys already rewritten. */
  readonly steps: readonly string[];
  /** The whole reference as source text (root and steps). */
  readonly text: string;
}

/** The replacement text for a reference, or undefined to keep it as written. */
export type ReferenceRewriter = (reference: Reference) => string | undefined;

const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_-]/;
const DIGIT = /[0-9]/;

/** True when a JSON string holds an interpolation or a directive (is a template to Terraform). */
export function isTemplate(text: string): boolean {
  return /[$%]\{/.test(text.replace(/\$\$\{|%%\{/g, ''));
}

/** `.name` steps are attributes; `.0`, `.*`, `[...]` are index keys or splats. */
export function isAttributeStep(step: string): boolean {
  return step.startsWith('.') && IDENT_START.test(step.charAt(1));
}

class Scanner {
  constructor(
    private readonly s: string,
    private readonly rewrite: ReferenceRewriter,
  ) {}

  /** Template text from `i` up to the end, or up to an unescaped `"` when `quoted`. */
  template(start: number, quoted: boolean): [string, number] {
    const s = this.s;
    let out = '';
    let i = start;
    while (i < s.length) {
      const c = s[i]!;
      if (quoted && c === '\\') {
        out += s.slice(i, i + 2);
        i += 2;
      } else if (quoted && c === '"') {
        return [out, i];
      } else if ((c === '$' || c === '%') && s[i + 1] === c && s[i + 2] === '{') {
        out += s.slice(i, i + 3);
        i += 3;
      } else if ((c === '$' || c === '%') && s[i + 1] === '{') {
        const [expression, end] = this.expression(i + 2, '}');
        out += `${c}{${expression}${s.charAt(end)}`;
        i = end + 1;
      } else {
        out += c;
        i++;
      }
    }
    return [out, i];
  }

  /** An expression from `i` up to an unmatched `closer` (excluded) or the end. */
  expression(start: number, closer?: string): [string, number] {
    const s = this.s;
    let out = '';
    let depth = 0;
    let i = start;
    while (i < s.length) {
      const c = s[i]!;
      if (c === '"') {
        const [text, end] = this.template(i + 1, true);
        out += `"${text}${s.charAt(end)}`;
        i = end + 1;
      } else if (c === '(' || c === '[' || c === '{') {
        depth++;
        out += c;
        i++;
      } else if (c === ')' || c === ']' || c === '}') {
        if (depth === 0 && c === closer) return [out, i];
        depth = Math.max(0, depth - 1);
        out += c;
        i++;
      } else if (IDENT_START.test(c) && !(i > 0 && (IDENT_CHAR.test(s[i - 1]!) || s[i - 1] === '.'))) {
        const [text, end] = this.reference(i);
        out += text;
        i = end;
      } else {
        out += c;
        i++;
      }
    }
    return [out, i];
  }

  /** A root name and its traversal steps; a function name comes back unchanged. */
  private reference(start: number): [string, number] {
    const s = this.s;
    let i = start;
    while (i < s.length && IDENT_CHAR.test(s[i]!)) i++;
    const root = s.slice(start, i);
    const steps: string[] = [];
    for (;;) {
      if (s[i] === '.' && s[i + 1] === '*') {
        steps.push('.*');
        i += 2;
      } else if (s[i] === '.' && IDENT_START.test(s.charAt(i + 1))) {
        let end = i + 2;
        while (end < s.length && IDENT_CHAR.test(s[end]!)) end++;
        steps.push(s.slice(i, end));
        i = end;
      } else if (s[i] === '.' && DIGIT.test(s.charAt(i + 1))) {
        let end = i + 2;
        while (end < s.length && DIGIT.test(s[end]!)) end++;
        steps.push(s.slice(i, end));
        i = end;
      } else if (s.startsWith('[*]', i)) {
        steps.push('[*]');
        i += 3;
      } else if (s[i] === '[') {
        const [key, end] = this.expression(i + 1, ']');
        steps.push(`[${key}${s.charAt(end)}`);
        i = end + 1;
      } else {
        break;
      }
    }
    const text = root + steps.join('');
    return [this.rewrite({ root, steps, text }) ?? text, i];
  }
}

/** Rewrites the references inside a template string (a JSON string value). */
export function rewriteTemplate(text: string, rewrite: ReferenceRewriter): string {
  return new Scanner(text, rewrite).template(0, false)[0];
}

/**
 * Rewrites the references of a meta-argument entry in the form it was written: a bare expression
 * (`kubernetes_job_v1.migrate`) stays bare, an interpolation (`${kubernetes_job_v1.migrate}`)
 * stays an interpolation, so Terraform judges the form as it would judge the original.
 */
export function rewriteMetaArgument(text: string, rewrite: ReferenceRewriter): string {
  return isTemplate(text) ? rewriteTemplate(text, rewrite) : new Scanner(text, rewrite).expression(0)[0];
}

/** Every template string anywhere in a JSON value, in order of appearance. */
export function templatesIn(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') {
    if (isTemplate(value)) found.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) templatesIn(v, found);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) templatesIn(v, found);
  }
  return found;
}

/** A JSON value with every template string in it rewritten. */
export function rewriteTemplatesIn(value: unknown, rewrite: ReferenceRewriter): unknown {
  if (typeof value === 'string') return isTemplate(value) ? rewriteTemplate(value, rewrite) : value;
  if (Array.isArray(value)) return value.map((v) => rewriteTemplatesIn(v, rewrite));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteTemplatesIn(v, rewrite)]));
  }
  return value;
}
