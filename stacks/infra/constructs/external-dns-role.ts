/**
 * The IRSA role of ExternalDNS, which the addons stack installs when the platform settings name
 * hosted zones for the region's API host names. ExternalDNS points each location's `domains.api`
 * at the NLB of its nginx Service (the name exists only once the app stack's Service has its load
 * balancer, so no Terraform stack can create that record in the same apply).
 *
 * Permissions: the policy of ExternalDNS's AWS tutorial (kubernetes-sigs/external-dns,
 * `docs/tutorials/aws.md`): record changes only in the named zones, and the list calls, which
 * support no resource scoping, on `*`.
 */
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import type { HostedZone } from '../config/platform-settings';
import type { IrsaOidcProvider, ServiceAccountRef } from './irsa-oidc-provider';

/** Where the chart's service account lives; the release goes into the same namespace. */
export const EXTERNAL_DNS_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: 'kube-system', name: 'external-dns' };

export const EXTERNAL_DNS_LIST_ACTIONS = ['route53:ListHostedZones', 'route53:ListResourceRecordSets', 'route53:ListTagsForResources'] as const;

/** ExternalDNS's policy: change records in `zones` only. */
export function externalDnsPolicy(partition: string, zones: readonly HostedZone[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ChangeRecordsOfTheNamedZones',
        Effect: 'Allow',
        Action: ['route53:ChangeResourceRecordSets'],
        Resource: zones.map((zone) => `arn:${partition}:route53:::hostedzone/${zone.zoneId}`),
      },
      { Sid: 'ListZonesAndRecords', Effect: 'Allow', Action: [...EXTERNAL_DNS_LIST_ACTIONS], Resource: '*' },
    ],
  });
}

export interface ExternalDnsRoleProps {
  /** The cluster's IRSA provider; the role trusts its issuer. */
  readonly oidcProvider: IrsaOidcProvider;
  /** The zones ExternalDNS may change; at least one. */
  readonly hostedZones: readonly HostedZone[];
  /** IAM role name, unique in the account (so include the region). */
  readonly roleName: string;
  /** Partition of the zone ARNs (`aws`, `aws-cn`, `aws-us-gov`). */
  readonly partition: string;
  /**
   * The chart's service account; must match its `serviceAccount.name` and release namespace.
   * @default EXTERNAL_DNS_SERVICE_ACCOUNT
   */
  readonly serviceAccount?: ServiceAccountRef;
}

export class ExternalDnsRole extends Construct {
  readonly role: IamRole;
  readonly policy: IamRolePolicy;
  readonly serviceAccount: ServiceAccountRef;
  readonly hostedZones: readonly HostedZone[];

  constructor(scope: Construct, id: string, props: ExternalDnsRoleProps) {
    super(scope, id);
    if (props.hostedZones.length === 0) {
      throw new Error(`hostedZones must name at least one Route 53 zone, got none (role "${props.roleName}")`);
    }
    this.serviceAccount = props.serviceAccount ?? EXTERNAL_DNS_SERVICE_ACCOUNT;
    this.hostedZones = props.hostedZones;
    this.role = props.oidcProvider.createServiceAccountRole(this, 'role', {
      roleName: props.roleName,
      serviceAccount: this.serviceAccount,
    });
    this.policy = new IamRolePolicy(this, 'policy', {
      name: 'external-dns',
      role: this.role.id,
      policy: externalDnsPolicy(props.partition, props.hostedZones),
    });
  }

  get arn(): string {
    return this.role.arn;
  }
}
