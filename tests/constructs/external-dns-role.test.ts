import type { HostedZone } from '../../stacks/infra/config/platform-settings';
import {
  EXTERNAL_DNS_LIST_ACTIONS,
  EXTERNAL_DNS_SERVICE_ACCOUNT,
  ExternalDnsRole,
  externalDnsPolicy,
} from '../../stacks/infra/constructs/external-dns-role';
import { clusterWithIrsa, constructStacks } from '../support/stacks/platform-fixtures';
import { expectIrsaTrust, parsePolicy, resourceAt, synthJson } from '../support/stacks/synth-json';

const ZONES: readonly HostedZone[] = [
  { domain: 'banrimkwae.com', zoneId: 'Z0123456789ABCDEFGHIJ' },
  { domain: 'banrimkwae.co.uk', zoneId: 'Z9876543210KLMNOPQRST' },
];

describe('ExternalDnsRole', () => {
  const newStack = constructStacks();

  function build(hostedZones: readonly HostedZone[] = ZONES) {
    const stack = newStack();
    const { oidcProvider } = clusterWithIrsa(stack);
    const role = new ExternalDnsRole(stack, 'external-dns', { oidcProvider, hostedZones, roleName: 'restaurant-test-external-dns', partition: 'aws' });
    return { stack, role };
  }

  const { stack, role } = build();
  const json = synthJson(stack);

  test("trusts exactly kube-system/external-dns through the cluster's OIDC provider", () => {
    expect(EXTERNAL_DNS_SERVICE_ACCOUNT).toEqual({ namespace: 'kube-system', name: 'external-dns' });
    expectIrsaTrust(parsePolicy(resourceAt(json, stack, 'external-dns/role').assume_role_policy), stack, EXTERNAL_DNS_SERVICE_ACCOUNT);
    expect(resourceAt(json, stack, 'external-dns/role').name).toBe('restaurant-test-external-dns');
  });

  test('changes records only in the named zones; lists everywhere (list calls take no resource)', () => {
    const policy = parsePolicy(resourceAt(json, stack, 'external-dns/policy').policy);
    expect(policy.Statement).toEqual([
      {
        Sid: 'ChangeRecordsOfTheNamedZones',
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets'],
        Resource: ['arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ', 'arn:aws:route53:::hostedzone/Z9876543210KLMNOPQRST'],
      },
      { Sid: 'ListZonesAndRecords', Effect: 'Allow', Action: [...EXTERNAL_DNS_LIST_ACTIONS], Resource: '*' },
    ]);
    expect(role.hostedZones).toBe(ZONES);
  });

  test('zone ARNs follow the partition', () => {
    const policy = JSON.parse(externalDnsPolicy('aws-cn', [ZONES[0]!])) as { Statement: { Resource: unknown }[] };
    expect(policy.Statement[0]!.Resource).toEqual(['arn:aws-cn:route53:::hostedzone/Z0123456789ABCDEFGHIJ']);
  });

  test('fails when no zone is named', () => {
    expect(() => build([])).toThrow(new Error('hostedZones must name at least one Route 53 zone, got none (role "restaurant-test-external-dns")'));
  });
});
