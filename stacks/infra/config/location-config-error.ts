/** One problem in one location file: which file, which field, and what is wrong with the value. */
export interface LocationProblem {
  readonly file: string;
  /** Dotted path such as `overrides.api.minReplicas`; empty when the problem is the whole file. */
  readonly field: string;
  readonly message: string;
}

export function formatProblem(p: LocationProblem): string {
  return p.field ? `${p.file}: ${p.field} ${p.message}` : `${p.file}: ${p.message}`;
}

/**
 * Thrown before any stack is built, so a bad file never yields partial Terraform. Carries every
 * problem of every file, so one run shows all of them.
 */
export class LocationConfigError extends Error {
  constructor(readonly problems: readonly LocationProblem[]) {
    super(
      problems.length === 1
        ? `Invalid location config: ${formatProblem(problems[0]!)}`
        : `Invalid location config (${problems.length} problems):\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
    );
    this.name = 'LocationConfigError';
  }
}
