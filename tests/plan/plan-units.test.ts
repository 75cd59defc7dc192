import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { matchLocations } from '../../stacks/checks/plan/location-glob';
import { planCheckOverride } from '../../stacks/checks/plan/plan-check-override';
import { countChanges, unplannableReason } from '../../stacks/checks/plan/plan-runner';
import { cliConfig, findMirroredProviders } from '../../stacks/checks/plan/provider-installation';
import { FIXTURE_ACCOUNT_ID, fixtureOutputs, fixtureState, referencedOutputs } from '../../stacks/checks/plan/upstream-fixtures';
import { synthPlatform } from '../../tools/synth/synth-platform';

const { stacks } = synthPlatform();

describe('location globs', () => {
  test.each([
    [[], ['a-cafe', 'b-resort']],
    [['*-cafe'], ['a-cafe']],
    [['b-*', 'a-caf?'], ['a-cafe', 'b-resort']],
    [['c*'], []],
  ])('%j selects %j', (globs, expected) => {
    expect(matchLocations(['a-cafe', 'b-resort'], globs)).toEqual(expected);
  });
});

describe('upstream fixtures', () => {
  const data = stacks.get('sukhumvit-cafe-data')!;
  const platform = stacks.get('platform-ap-southeast-1')!;
  const reads = referencedOutputs(data).get('cross-stack-reference-input-platform-ap-southeast-1')!;

  test('cover every platform output the data stack reads, with values of the right shape', () => {
    const outputs = fixtureOutputs('platform-ap-southeast-1', platform, reads, 'ap-southeast-1');
    expect(outputs.map((o) => o.name).sort()).toEqual([...reads].sort());
    for (const o of outputs) {
      if (o.expression.includes('aws_subnet.')) expect(o.value).toMatch(/^subnet-0[0-9a-f]{16}$/);
      if (o.expression.includes('aws_vpc.') && o.expression.endsWith('.id}')) expect(o.value).toMatch(/^vpc-0[0-9a-f]{16}$/);
      if (o.expression.includes('oidc_provider')) expect(o.value).toContain(`arn:aws:iam::${FIXTURE_ACCOUNT_ID}:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/`);
    }
    const state = JSON.parse(fixtureState(outputs));
    expect(state.version).toBe(4);
    expect(Object.keys(state.outputs).sort()).toEqual([...reads].sort());
  });

  test('cover the platform outputs the addons stack reads; role ARNs look like IAM role ARNs', () => {
    const addons = stacks.get('addons-ap-southeast-1')!;
    const addonsReads = referencedOutputs(addons).get('cross-stack-reference-input-platform-ap-southeast-1')!;
    const outputs = fixtureOutputs('platform-ap-southeast-1', platform, addonsReads, 'ap-southeast-1');
    const roles = outputs.filter((o) => o.expression.startsWith('${aws_iam_role.'));
    // The two controllers' roles, ExternalDNS's (the samples' API names have hosted zones) and Alertmanager's.
    expect(roles.map((o) => o.expression.replace(/_[0-9A-F]{8}\.arn}$/, '')).sort()).toEqual([
      '${aws_iam_role.alertmanager-role',
      '${aws_iam_role.cluster-autoscaler-role',
      '${aws_iam_role.external-dns-role',
      '${aws_iam_role.load-balancer-controller-role',
    ]);
    for (const role of roles) expect(role.value).toMatch(new RegExp(`^arn:aws:iam::${FIXTURE_ACCOUNT_ID}:role/fixture-[0-9a-f]{12}$`));
  });

  test('cover the pull-through cache outputs the app stack builds the nginx images from', () => {
    const app = stacks.get('sukhumvit-cafe-app')!;
    const appReads = [...referencedOutputs(app).get('cross-stack-reference-input-platform-ap-southeast-1')!].filter((o) => o.includes('pull_through_cache'));
    const outputs = fixtureOutputs('platform-ap-southeast-1', platform, appReads, 'ap-southeast-1');
    expect(outputs.map((o) => [o.expression.replace(/_[0-9A-F]{8}\./, '.'), o.value.replace(/^fixture-[0-9a-f]{8}$/, 'fixture-x')]).sort()).toEqual([
      ['${aws_ecr_pull_through_cache_rule.image-cache_rule-ecrPublic.ecr_repository_prefix}', 'fixture-x'],
      ['${aws_ecr_pull_through_cache_rule.image-cache_rule-ecrPublic.registry_id}', FIXTURE_ACCOUNT_ID],
    ]);
  });

  test('fail naming the output when no rule covers its expression', () => {
    const upstream = { output: { weird: { value: '${aws_lambda_function.f.invoke_arn}' } } };
    expect(() => fixtureOutputs('platform-x', upstream, ['weird'], 'ap-southeast-1')).toThrow(
      'plan check: no fixture rule for platform-x output "weird" (${aws_lambda_function.f.invoke_arn}); add one to stacks/checks/plan/upstream-fixtures.ts',
    );
  });
});

describe('the plan-check override', () => {
  const data = stacks.get('sukhumvit-cafe-data')!;
  const override = planCheckOverride(data, new Map([['cross-stack-reference-input-platform-ap-southeast-1', '/fixtures/platform.tfstate']])) as Record<string, any>;

  test('keeps state local and reads upstream outputs from the fixture', () => {
    expect(override.terraform).toEqual({ backend: { local: { path: 'terraform.tfstate' } } });
    expect(override.data.terraform_remote_state).toEqual({
      'cross-stack-reference-input-platform-ap-southeast-1': { backend: 'local', config: { path: '/fixtures/platform.tfstate' } },
    });
  });

  test('gives every aws provider, aliased or not, dummy credentials and no credential checks', () => {
    const aliases = (data.provider.aws as { alias?: string }[]).map((p) => p.alias);
    expect(override.provider.aws.map((p: { alias?: string }) => p.alias)).toEqual(aliases);
    for (const p of override.provider.aws) {
      expect(p).toMatchObject({ skip_credentials_validation: true, skip_requesting_account_id: true, access_key: 'plan-check-no-credentials' });
    }
  });

  test('leaves the synthesized stack untouched', () => {
    expect(data.terraform.backend.s3).toBeDefined();
    expect(JSON.stringify(data)).not.toContain('plan-check');
  });

  test('fails when a remote state has no fixture', () => {
    expect(() => planCheckOverride(data, new Map())).toThrow('plan check: no fixture state for remote state "cross-stack-reference-input-platform-ap-southeast-1"');
  });
});

describe('provider installation', () => {
  const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-'));
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  fs.mkdirSync(path.join(mirror, 'registry.terraform.io/hashicorp/aws/5.100.0', platform), { recursive: true });

  test('finds mirrored providers and their versions', () => {
    expect(findMirroredProviders([mirror, '/nonexistent'])).toEqual([
      { address: 'registry.terraform.io/hashicorp/aws', versions: ['5.100.0'], mirrorDir: mirror },
    ]);
  });

  test('installs mirrored providers from the mirror and all others directly', () => {
    const text = cliConfig(findMirroredProviders([mirror]));
    expect(text).toContain(`filesystem_mirror {\n    path    = "${mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }`);
    expect(text).toContain('direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }');
  });

  test('plans a stack only when all its providers are mirrored (the others get the structure check)', () => {
    const mirrored = findMirroredProviders([mirror]);
    expect(unplannableReason(stacks.get('sukhumvit-cafe-data')!, mirrored, false)).toBeUndefined();
    expect(unplannableReason(stacks.get('sukhumvit-cafe-app')!, mirrored, false)).toMatch(
      /^provider registry\.terraform\.io\/hashicorp\/kubernetes \S+ is not in a filesystem mirror/,
    );
    expect(unplannableReason(stacks.get('sukhumvit-cafe-app')!, mirrored, true)).toBeUndefined();
  });
});

describe('countChanges', () => {
  test('counts creates, updates and deletes; a replacement is an add and a destroy', () => {
    const rc = (...actions: string[]) => ({ change: { actions } });
    expect(countChanges({ resource_changes: [rc('create'), rc('create'), rc('update'), rc('delete', 'create'), rc('no-op'), rc('delete')] })).toEqual({
      add: 3, change: 1, destroy: 2,
    });
  });
});
