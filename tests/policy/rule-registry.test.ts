/** The rule list itself: ids, titles and the external ids that reports and waivers rely on. */
import { POLICY_RULE_ID_PATTERN } from '../../stacks/infra/config/location-schema';
import { ALL_RULES, RULE_IDS } from '../../stacks/checks/policy/rules';

describe('ALL_RULES', () => {
  test('has at least 32 rules with unique ids, in RULE_IDS order', () => {
    expect(ALL_RULES.length).toBeGreaterThanOrEqual(32);
    expect(new Set(RULE_IDS).size).toBe(RULE_IDS.length);
    expect(RULE_IDS).toEqual(ALL_RULES.map((r) => r.id));
  });

  test('ids are what location files may waive (AREA-NNN), numbered from 001 without gaps per area', () => {
    for (const id of RULE_IDS) expect(id).toMatch(POLICY_RULE_ID_PATTERN);
    const byArea = new Map<string, number[]>();
    for (const id of RULE_IDS) {
      const [, area, number] = /^(.+)-(\d{3})$/.exec(id)!;
      byArea.set(area!, [...(byArea.get(area!) ?? []), Number(number)]);
    }
    for (const [area, numbers] of byArea) {
      expect([area, numbers]).toEqual([area, numbers.map((_, i) => i + 1)]);
    }
  });

  test('titles are unique, and every rule applies to some stack kind', () => {
    expect(new Set(ALL_RULES.map((r) => r.title)).size).toBe(ALL_RULES.length);
    for (const rule of ALL_RULES) expect(rule.appliesTo.length).toBeGreaterThan(0);
  });

  test('external ids look like checkov and trivy ids', () => {
    for (const rule of ALL_RULES) {
      if (rule.checkov !== undefined) expect([rule.id, rule.checkov]).toEqual([rule.id, expect.stringMatching(/^CKV2?_(AWS|K8S)_\d+$/)]);
      if (rule.trivy !== undefined) expect([rule.id, rule.trivy]).toEqual([rule.id, expect.stringMatching(/^AVD-(AWS|KSV)-\d{4}$/)]);
    }
    const checkov = ALL_RULES.flatMap((r) => (r.checkov ? [r.checkov] : []));
    expect(new Set(checkov).size).toBe(checkov.length);
  });
});
