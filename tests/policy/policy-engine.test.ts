import { checkWaiverIds, evaluatePolicies, ruleIdRanges, unusedWaivers } from '../../stacks/checks/policy/policy-engine';
import type { PolicyInput, PolicyRule } from '../../stacks/checks/policy/policy-types';
import { ALL_RULES } from '../../stacks/checks/policy/rules';

/** A rule that fails on every resource of `type`. */
const forbids = (id: string, type: string, appliesTo: PolicyRule['appliesTo'] = ['data']): PolicyRule => ({
  id,
  title: `no ${type}`,
  checkov: 'CKV_AWS_1',
  appliesTo,
  evaluate: (input) => input.resources.filter((r) => r.type === type).map((r) => ({ address: r.address, message: `${r.address}: is forbidden` })),
});

const RULES = [forbids('TEST-001', 'aws_db_instance'), forbids('TEST-002', 'aws_s3_bucket'), forbids('K8S-001', 'kubernetes_pod_v1', ['app'])];

const dataStack: PolicyInput = {
  stack: 'testville-data',
  kind: 'data',
  source: 'synth',
  resources: [{ address: 'aws_db_instance.primary', type: 'aws_db_instance', values: {}, unknown: new Set() }],
};

describe('evaluatePolicies', () => {
  test('returns one result per rule that applies to the stack kind, pass or fail with its violations', () => {
    expect(evaluatePolicies(dataStack, RULES, [])).toEqual([
      {
        rule: { id: 'TEST-001', title: 'no aws_db_instance', checkov: 'CKV_AWS_1', trivy: undefined },
        stack: 'testville-data',
        outcome: 'fail',
        violations: [{ address: 'aws_db_instance.primary', message: 'aws_db_instance.primary: is forbidden' }],
      },
      { rule: { id: 'TEST-002', title: 'no aws_s3_bucket', checkov: 'CKV_AWS_1', trivy: undefined }, stack: 'testville-data', outcome: 'pass', violations: [] },
    ]);
  });

  test('a waiver turns a failing rule into waived, keeping its violations and the written reason', () => {
    const [result] = evaluatePolicies(dataStack, RULES, [{ rule: 'TEST-001', reason: 'the cafe accepts a single-AZ database until 2027' }]);
    expect(result).toMatchObject({
      outcome: 'waived',
      waiverReason: 'the cafe accepts a single-AZ database until 2027',
      violations: [{ address: 'aws_db_instance.primary', message: 'aws_db_instance.primary: is forbidden' }],
    });
  });

  test('a waiver does not touch a rule that passes: it stays pass and the waiver is reported unused', () => {
    const waivers = [
      { rule: 'TEST-001', reason: 'the cafe accepts a single-AZ database until 2027' },
      { rule: 'TEST-002', reason: 'buckets are managed by another team meanwhile' },
    ];
    const results = evaluatePolicies(dataStack, RULES, waivers);
    expect(results.map((r) => [r.rule.id, r.outcome, r.waiverReason])).toEqual([
      ['TEST-001', 'waived', 'the cafe accepts a single-AZ database until 2027'],
      ['TEST-002', 'pass', undefined],
    ]);
    expect(unusedWaivers(results, waivers)).toEqual([{ rule: 'TEST-002', reason: 'buckets are managed by another team meanwhile' }]);
  });

  test("unused waivers are judged over all of a location's stacks", () => {
    const waivers = [{ rule: 'TEST-001', reason: 'the cafe accepts a single-AZ database until 2027' }];
    const appResults = evaluatePolicies({ ...dataStack, stack: 'testville-app', kind: 'app', resources: [] }, RULES, waivers);
    expect(unusedWaivers(appResults, waivers)).toEqual(waivers);
    expect(unusedWaivers([...appResults, ...evaluatePolicies(dataStack, RULES, waivers)], waivers)).toEqual([]);
  });
});

describe('checkWaiverIds', () => {
  test('accepts waivers of existing rules', () => {
    expect(() => checkWaiverIds([{ rule: 'RDS-003', reason: 'x'.repeat(20) }], 'locations/testville.yaml')).not.toThrow();
  });

  test('fails when a waiver names no rule, naming the file, the index, the id and the valid ids', () => {
    expect(() =>
      checkWaiverIds(
        [
          { rule: 'TEST-002', reason: 'buckets are managed by another team meanwhile' },
          { rule: 'TEST-999', reason: 'a typo that would silently waive nothing' },
        ],
        'locations/testville.yaml',
        RULES,
      ),
    ).toThrow(new Error('locations/testville.yaml: policyWaivers[1].rule names no policy rule, got "TEST-999" (rules: TEST-001..TEST-002, K8S-001)'));
  });

  test('fails listing every unknown waiver of the file', () => {
    expect(() => checkWaiverIds([{ rule: 'RDS-999', reason: 'r'.repeat(20) }, { rule: 'S3-099', reason: 'r'.repeat(20) }], 'locations/x.yaml', RULES)).toThrow(
      new Error(
        'locations/x.yaml: policyWaivers[0].rule names no policy rule, got "RDS-999"; locations/x.yaml: policyWaivers[1].rule names no policy rule, got "S3-099" (rules: TEST-001..TEST-002, K8S-001)',
      ),
    );
  });

  test('checks against ALL_RULES by default and lists their ids area by area', () => {
    expect(() => checkWaiverIds([{ rule: 'RDS-999', reason: 'r'.repeat(20) }], 'locations/x.yaml')).toThrow(
      new Error(`locations/x.yaml: policyWaivers[0].rule names no policy rule, got "RDS-999" (rules: ${ruleIdRanges(ALL_RULES)})`),
    );
    expect(ruleIdRanges(ALL_RULES)).toMatch(/^RDS-001\.\.RDS-015, ECACHE-001\.\.ECACHE-008, S3-001\.\.S3-008, CF-001\.\.CF-007, /);
  });
});
