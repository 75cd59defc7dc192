/**
 * Runs policy rules over one stack and applies a location's waivers.
 *
 * A waiver (`policyWaivers: [{ rule, reason }]` in a location file) turns a failing rule into
 * `waived` for that location's stacks, with the reason in the report. It never hides a rule that
 * passes: that result stays `pass`, and `unusedWaivers` reports the waiver so it can be removed.
 */
import type { PolicyInput, PolicyRule, RuleResult } from './policy-types';
import { ALL_RULES } from './rules';

export interface PolicyWaiver {
  readonly rule: string;
  readonly reason: string;
}

/** One result per rule that applies to the stack's kind, in the order of `rules`. */
export function evaluatePolicies(input: PolicyInput, rules: readonly PolicyRule[], waivers: readonly PolicyWaiver[]): RuleResult[] {
  return rules
    .filter((rule) => rule.appliesTo.includes(input.kind))
    .map((rule) => {
      const violations = rule.evaluate(input);
      const summary = { id: rule.id, title: rule.title, checkov: rule.checkov, trivy: rule.trivy };
      if (violations.length === 0) return { rule: summary, stack: input.stack, outcome: 'pass', violations };
      const waiver = waivers.find((w) => w.rule === rule.id);
      return waiver
        ? { rule: summary, stack: input.stack, outcome: 'waived', violations, waiverReason: waiver.reason }
        : { rule: summary, stack: input.stack, outcome: 'fail', violations };
    });
}

/**
 * Waivers that waived nothing in these results. Pass the results of all of a location's stacks:
 * a waiver of an RDS rule is used by the data stack, not by the app stack.
 */
export function unusedWaivers(results: readonly RuleResult[], waivers: readonly PolicyWaiver[]): PolicyWaiver[] {
  const used = new Set(results.filter((r) => r.outcome === 'waived').map((r) => r.rule.id));
  return waivers.filter((w) => !used.has(w.rule));
}

/** `RDS-001..RDS-015, ECACHE-001..ECACHE-008, HELM-001`: the ids of `rules`, area by area. */
export function ruleIdRanges(rules: readonly PolicyRule[]): string {
  const byArea = new Map<string, string[]>();
  for (const { id } of rules) {
    const area = id.replace(/-\d+$/, '');
    byArea.set(area, [...(byArea.get(area) ?? []), id]);
  }
  return [...byArea.values()].map((ids) => (ids.length === 1 ? ids[0] : `${ids[0]}..${ids[ids.length - 1]}`)).join(', ');
}

/**
 * Stops on waivers that name no rule (a typo would otherwise waive nothing, silently). `file` is
 * the location file, for the message.
 */
export function checkWaiverIds(waivers: readonly PolicyWaiver[], file: string, rules: readonly PolicyRule[] = ALL_RULES): void {
  const known = new Set(rules.map((r) => r.id));
  const problems = waivers.flatMap((w, i) => (known.has(w.rule) ? [] : [`${file}: policyWaivers[${i}].rule names no policy rule, got "${w.rule}"`]));
  if (problems.length > 0) throw new Error(`${problems.join('; ')} (rules: ${ruleIdRanges(rules)})`);
}
