/**
 * `terraform validate -json` of a structure-check copy, told in the stack's own terms: a
 * diagnostic about `terraform_data.kubernetes_job_v1__migrate` names `kubernetes_job_v1.migrate`,
 * and says which argument it concerns (`depends_on`, `lifecycle.ignore_changes`).
 */
import { resourceAtLine } from './resource-at-line';

interface Diagnostic {
  readonly severity: string;
  readonly summary: string;
  readonly detail?: string;
  readonly range?: { readonly start: { readonly line: number } };
  readonly snippet?: { readonly context?: string | null };
}

const STAND_IN = /terraform_data\.([A-Za-z0-9_-]+)/g;
const STAND_IN_CONTEXT = /^resource\.terraform_data\.([A-Za-z0-9_-]+)(?:\.(.+))?$/;

/** Text with every stand-in address replaced by the address it stands for. */
export function inStackTerms(text: string, standIns: ReadonlyMap<string, string>): string {
  return text.replace(STAND_IN, (whole, name: string) => standIns.get(name) ?? whole);
}

function where(d: Diagnostic, standIns: ReadonlyMap<string, string>, configText: string): string | undefined {
  const context = d.snippet?.context;
  if (!context) {
    const block = d.range ? resourceAtLine(configText, d.range.start.line) : undefined;
    return block && inStackTerms(block, standIns);
  }
  const m = STAND_IN_CONTEXT.exec(context);
  if (!m) return context.replace(/^resource\./, '');
  const original = standIns.get(m[1]!) ?? `terraform_data.${m[1]}`;
  // `input` carries the original's arguments: a problem there is a problem in its body.
  return m[2] && m[2] !== 'input' ? `${original} ${m[2]}` : original;
}

/**
 * The error diagnostics of `terraform validate -json` on a structure-check copy, each naming
 * the block of the original stack; undefined when the output holds none (or is not JSON).
 */
export function structureCheckErrors(validateStdout: string, standIns: ReadonlyMap<string, string>, configText: string): string | undefined {
  let diagnostics: Diagnostic[];
  try {
    diagnostics = (JSON.parse(validateStdout) as { diagnostics: Diagnostic[] }).diagnostics;
  } catch {
    return undefined;
  }
  const errors = diagnostics
    .filter((d) => d.severity === 'error')
    .map((d) => {
      const at = where(d, standIns, configText);
      const detail = d.detail ? `: ${inStackTerms(d.detail.split('\n')[0]!, standIns)}` : '';
      return `${at ? `${at}: ` : ''}${inStackTerms(d.summary, standIns)}${detail}`;
    });
  return errors.length > 0 ? errors.join('; ') : undefined;
}
