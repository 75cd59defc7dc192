/**
 * Every rule fails on a stack that breaks it, with the exact message, and passes on compliant
 * stacks, including ones that use its exemptions. Cases live in ./cases, one file per area.
 */
import type { PolicyInput, PolicyRule } from '../../stacks/checks/policy/policy-types';
import { ALL_RULES, RULE_IDS } from '../../stacks/checks/policy/rules';
import { CLOUDFRONT_CASES, CLOUDFRONT_PASSING } from './cases/cloudfront.cases';
import { ELASTICACHE_CASES, ELASTICACHE_PASSING } from './cases/elasticache.cases';
import type { FailingCase, PassingCase } from './cases/failing-case';
import { KUBERNETES_CASES, KUBERNETES_PASSING } from './cases/kubernetes.cases';
import { PLATFORM_CASES } from './cases/platform.cases';
import { RDS_CASES, RDS_PASSING } from './cases/rds.cases';
import { S3_CASES, S3_PASSING } from './cases/s3.cases';
import { TAGGING_CASES, TAGGING_PASSING } from './cases/tagging.cases';
import { compliantStack } from './support/fixtures';

const FAILING: FailingCase[] = [
  ...RDS_CASES,
  ...ELASTICACHE_CASES,
  ...S3_CASES,
  ...CLOUDFRONT_CASES,
  ...PLATFORM_CASES,
  ...KUBERNETES_CASES,
  ...TAGGING_CASES,
];
const PASSING: PassingCase[] = [...RDS_PASSING, ...ELASTICACHE_PASSING, ...S3_PASSING, ...CLOUDFRONT_PASSING, ...KUBERNETES_PASSING, ...TAGGING_PASSING];

const ruleById = (id: string): PolicyRule => {
  const rule = ALL_RULES.find((r) => r.id === id);
  if (!rule) throw new Error(`no rule ${id}`);
  return rule;
};

const violationsOfAllRules = (input: PolicyInput) =>
  ALL_RULES.filter((r) => r.appliesTo.includes(input.kind)).flatMap((r) => r.evaluate(input).map((v) => `${r.id} ${v.message}`));

describe('compliant fixtures', () => {
  test.each(['platform', 'addons', 'data', 'app'] as const)('the %s fixture passes every rule that applies to it', (kind) => {
    expect(violationsOfAllRules(compliantStack(kind))).toEqual([]);
  });
});

describe('each rule', () => {
  test.each(FAILING.map((c) => [c.rule, c.when, c] as const))('%s fails when %s', (id, _when, c) => {
    const rule = ruleById(id);
    expect(rule.appliesTo).toContain(c.input.kind);
    const violations = rule.evaluate(c.input);
    expect(violations.map((v) => v.message)).toEqual(c.messages);
    for (const v of violations) expect(v.message.startsWith(`${v.address}: `)).toBe(true);
  });

  test('every rule has at least one failing case', () => {
    const tested = new Set(FAILING.map((c) => c.rule));
    expect(RULE_IDS.filter((id) => !tested.has(id))).toEqual([]);
    expect([...tested].filter((id) => !RULE_IDS.includes(id))).toEqual([]);
  });

  test.each(PASSING.map((c) => [c.when, c] as const))('every rule accepts %s', (_when, c) => {
    expect(violationsOfAllRules(c.input)).toEqual([]);
  });
});
