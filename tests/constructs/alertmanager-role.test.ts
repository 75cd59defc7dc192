import {
  ALERTMANAGER_SERVICE_ACCOUNT,
  AlertmanagerRole,
  type AlertmanagerRoleProps,
  alertmanagerPolicy,
  regionAlertTopicsArn,
} from '../../stacks/infra/constructs/alertmanager-role';
import { clusterWithIrsa, constructStacks } from '../support/stacks/platform-fixtures';
import { expectIrsaTrust, parsePolicy, refTo, resourceAt, synthJson } from '../support/stacks/synth-json';

describe('AlertmanagerRole', () => {
  const newStack = constructStacks();

  function build(props: Partial<Omit<AlertmanagerRoleProps, 'oidcProvider'>> = {}) {
    const stack = newStack();
    const { oidcProvider } = clusterWithIrsa(stack);
    const role = new AlertmanagerRole(stack, 'am', {
      oidcProvider,
      roleName: 'restaurant-test-alertmanager',
      region: 'ap-southeast-1',
      accountId: '111122223333',
      ...props,
    });
    return { stack, role };
  }

  const { stack, role } = build();
  const json = synthJson(stack);
  const trust = parsePolicy(resourceAt(json, stack, 'am/role').assume_role_policy);
  const inline = resourceAt(json, stack, 'am/policy');
  const policy = parsePolicy(inline.policy);

  describe('defaults', () => {
    test('trusts exactly monitoring/kube-prometheus-stack-alertmanager through the cluster\'s OIDC provider', () => {
      expect(ALERTMANAGER_SERVICE_ACCOUNT).toEqual({ namespace: 'monitoring', name: 'kube-prometheus-stack-alertmanager' });
      expectIrsaTrust(trust, stack, { namespace: 'monitoring', name: 'kube-prometheus-stack-alertmanager' });
      expect(role.serviceAccount).toBe(ALERTMANAGER_SERVICE_ACCOUNT);
    });

    test('names the role and attaches its policy inline', () => {
      expect(resourceAt(json, stack, 'am/role').name).toBe('restaurant-test-alertmanager');
      expect(inline).toMatchObject({ name: 'alertmanager-sns', role: refTo(stack, 'am/role', 'id') });
    });
  });

  describe('behaviour', () => {
    test('may publish only to the location alert topics of its region and account', () => {
      expect(policy.Statement[0]).toEqual({
        Sid: 'PublishToLocationAlertTopicsOfTheRegion',
        Effect: 'Allow',
        Action: 'sns:Publish',
        Resource: 'arn:aws:sns:ap-southeast-1:111122223333:*-alerts',
      });
    });

    test('may use the region\'s keys only through SNS, and only to encrypt for and decrypt topics', () => {
      expect(policy.Statement[1]).toEqual({
        Sid: 'UseTopicKeysOnlyThroughSns',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        Resource: 'arn:aws:kms:ap-southeast-1:111122223333:key/*',
        Condition: { StringEquals: { 'kms:ViaService': 'sns.ap-southeast-1.amazonaws.com' } },
      });
      expect(policy.Statement).toHaveLength(2);
    });

    test('grants no wildcard action and no action beyond publishing', () => {
      const actions = policy.Statement.flatMap((st: { Action: string | string[] }) => [st.Action].flat());
      expect(actions).toEqual(['sns:Publish', 'kms:GenerateDataKey*', 'kms:Decrypt']);
    });

    test.each([
      ['aws', 'eu-west-2', 'arn:aws:sns:eu-west-2:111122223333:*-alerts'],
      ['aws-cn', 'cn-north-1', 'arn:aws-cn:sns:cn-north-1:111122223333:*-alerts'],
    ])('topics of partition %s, region %s: %s', (partition, region, arn) => {
      expect(regionAlertTopicsArn(partition, region, '111122223333')).toBe(arn);
      expect(JSON.parse(alertmanagerPolicy(partition, region, '111122223333')).Statement[1].Condition.StringEquals['kms:ViaService']).toBe(`sns.${region}.amazonaws.com`);
    });

    test('a wildcard over the location topics matches a location topic of the region and nothing of another region', () => {
      const pattern = new RegExp(`^${regionAlertTopicsArn('aws', 'ap-southeast-1', '111122223333').replace(/[.]/g, '\\.').replace('*', '.*')}$`);
      expect(pattern.test('arn:aws:sns:ap-southeast-1:111122223333:sukhumvit-cafe-alerts')).toBe(true);
      expect(pattern.test('arn:aws:sns:eu-west-2:111122223333:london-shoreditch-alerts')).toBe(false);
      expect(pattern.test('arn:aws:sns:ap-southeast-1:111122223333:orders')).toBe(false);
    });
  });

  describe('errors', () => {
    test('fails when the service account name cannot exist', () => {
      expect(() => build({ serviceAccount: { namespace: 'monitoring', name: 'Alertmanager' } })).toThrow(
        'serviceAccount.name must be a Kubernetes service account name (lowercase DNS subdomain, at most 253 characters), got "Alertmanager" (service account role "am/role")',
      );
    });
  });
});
