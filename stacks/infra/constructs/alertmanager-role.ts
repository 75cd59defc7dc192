/**
 * The IRSA role of Alertmanager (kube-prometheus-stack, installed by the addons stack). Alertmanager
 * notifies through SNS (`sns_configs` with SigV4, credentials from the pod's web identity): each
 * location's alerts go to that location's `<location>-alerts` topic, the topic its CloudWatch
 * alarms already use (`location-alarms.ts`), so a location's people get one stream.
 *
 * Permissions:
 * - `sns:Publish` on `arn:<partition>:sns:<region>:<account>:*-alerts`: the location topics of
 *   this region. The topics belong to the data stacks, which are deployed after this stack, so
 *   their ARNs cannot be named one by one here; the name suffix and the region bound them.
 * - `kms:GenerateDataKey*` and `kms:Decrypt` on the region's keys, only when SNS calls KMS on the
 *   role's behalf (`kms:ViaService`): the topics are encrypted with the locations' customer-managed
 *   keys, whose policies delegate to IAM (the account statement), and publishing to an encrypted
 *   topic needs both. The condition keeps the role from using any key directly.
 */
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { policyDocument } from './app-service-role';
import type { IrsaOidcProvider, ServiceAccountRef } from './irsa-oidc-provider';
import { locationAlertTopicName } from './location-alarms';

/**
 * Alertmanager's service account: the release `kube-prometheus-stack` in `monitoring` names it
 * `<fullname>-alertmanager`; the addons stack sets `alertmanager.serviceAccount.name` to this
 * explicitly, so the trust policy does not depend on the chart's naming helpers.
 */
export const ALERTMANAGER_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: 'monitoring', name: 'kube-prometheus-stack-alertmanager' };

/** Every location alert topic of `region` in `accountId` (a wildcard over the location ids). */
export function regionAlertTopicsArn(partition: string, region: string, accountId: string): string {
  return `arn:${partition}:sns:${region}:${accountId}:${locationAlertTopicName('*')}`;
}

/** Alertmanager's policy: publish to the region's location alert topics, through their KMS keys. */
export function alertmanagerPolicy(partition: string, region: string, accountId: string): string {
  return policyDocument([
    {
      Sid: 'PublishToLocationAlertTopicsOfTheRegion',
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: regionAlertTopicsArn(partition, region, accountId),
    },
    {
      Sid: 'UseTopicKeysOnlyThroughSns',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      Resource: `arn:${partition}:kms:${region}:${accountId}:key/*`,
      Condition: { StringEquals: { 'kms:ViaService': `sns.${region}.amazonaws.com` } },
    },
  ]);
}

export interface AlertmanagerRoleProps {
  /** The cluster's IRSA provider; the role trusts its issuer. */
  readonly oidcProvider: IrsaOidcProvider;
  /** IAM role name, unique in the account (so include the region). */
  readonly roleName: string;
  /** Region of the cluster and of the topics Alertmanager publishes to. */
  readonly region: string;
  /** Account of the topics and keys (derived from an ARN, so planning needs no AWS call). */
  readonly accountId: string;
  /**
   * Alertmanager's service account; must match `alertmanager.serviceAccount.name` and the release namespace.
   * @default ALERTMANAGER_SERVICE_ACCOUNT
   */
  readonly serviceAccount?: ServiceAccountRef;
}

export class AlertmanagerRole extends Construct {
  readonly role: IamRole;
  readonly policy: IamRolePolicy;
  readonly serviceAccount: ServiceAccountRef;

  constructor(scope: Construct, id: string, props: AlertmanagerRoleProps) {
    super(scope, id);
    this.serviceAccount = props.serviceAccount ?? ALERTMANAGER_SERVICE_ACCOUNT;

    this.role = props.oidcProvider.createServiceAccountRole(this, 'role', {
      roleName: props.roleName,
      serviceAccount: this.serviceAccount,
    });
    this.policy = new IamRolePolicy(this, 'policy', {
      name: 'alertmanager-sns',
      role: this.role.id,
      policy: alertmanagerPolicy(props.oidcProvider.partition, props.region, props.accountId),
    });
  }

  get arn(): string {
    return this.role.arn;
  }
}
