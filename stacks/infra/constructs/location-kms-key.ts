/**
 * A customer-managed KMS key of one location, rotated yearly, with an alias. The key policy
 * delegates to IAM (the account statement), so roles use the key through their own policies.
 * AWS services that use the key on their own behalf, not through a caller's grant, need a
 * statement in the key policy itself; each is an explicit, scoped prop:
 * - CloudWatch alarms publishing to an SNS topic encrypted with this key (the AWS-managed
 *   `alias/aws/sns` key cannot be used for that: its policy does not admit CloudWatch);
 * - CloudWatch Logs encrypting log groups under given name prefixes;
 * - one CloudFront distribution reading SSE-KMS objects through Origin Access Control.
 */
import { Construct } from 'constructs';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import type { TerraformProvider } from '../cdktf';
import { Token } from '../cdktf';
import type { Location } from '../config/location';
import { policyDocument, type PolicyStatement } from './app-service-role';

const PURPOSE_PATTERN = /^[a-z][a-z0-9-]{0,40}$/;

export interface LocationKmsKeyProps {
  readonly location: Location;
  /** What the key protects, e.g. `data`; names the alias `alias/<location>/<purpose>`. */
  readonly purpose: string;
  /** The account that owns the key (derived from an ARN, so no AWS call is needed to plan). */
  readonly accountId: string;
  /**
   * Region of the key, for the CloudWatch Logs service principal.
   * @default - the location's region
   */
  readonly region?: string;
  /**
   * Lets CloudWatch alarms of this account publish to SNS topics encrypted with this key.
   * @default false
   */
  readonly allowCloudWatchAlarms?: boolean;
  /**
   * Log group name prefixes whose CloudWatch Logs encryption may use this key.
   * @default - none: CloudWatch Logs cannot use the key
   */
  readonly cloudWatchLogGroupPrefixes?: readonly string[];
  /**
   * ARN of the one CloudFront distribution that may decrypt (Origin Access Control, SSE-KMS objects).
   * @default - none: CloudFront cannot use the key
   */
  readonly cloudFrontDistributionArn?: string;
  /**
   * Waiting period before a scheduled deletion takes effect, in days (7..30).
   * @default 30
   */
  readonly deletionWindowDays?: number;
  /**
   * Provider (region) of the key.
   * @default - the stack's default aws provider
   */
  readonly provider?: TerraformProvider;
}

export class LocationKmsKey extends Construct {
  readonly key: KmsKey;
  readonly alias: KmsAlias;
  readonly keyArn: string;

  constructor(scope: Construct, id: string, props: LocationKmsKeyProps) {
    super(scope, id);
    const { location, accountId } = props;
    const region = props.region ?? location.region;
    const deletionWindowDays = props.deletionWindowDays ?? 30;
    if (!PURPOSE_PATTERN.test(props.purpose)) {
      throw new Error(`purpose must be 1-41 lowercase letters, digits and hyphens, got "${props.purpose}" (location "${location.id}")`);
    }
    if (!Token.isUnresolved(deletionWindowDays) && (!Number.isInteger(deletionWindowDays) || deletionWindowDays < 7 || deletionWindowDays > 30)) {
      throw new Error(`deletionWindowDays must be 7..30, got ${deletionWindowDays} (location "${location.id}")`);
    }

    const statements: PolicyStatement[] = [
      {
        Sid: 'AccountAdministersKeyThroughIam',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ];
    if (props.allowCloudWatchAlarms ?? false) {
      statements.push({
        Sid: 'CloudWatchAlarmsPublishToEncryptedTopics',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
      });
    }
    const logGroupPrefixes = props.cloudWatchLogGroupPrefixes ?? [];
    if (logGroupPrefixes.length > 0) {
      statements.push({
        Sid: 'CloudWatchLogsEncryptsLocationLogGroups',
        Effect: 'Allow',
        Principal: { Service: `logs.${region}.amazonaws.com` },
        Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        Resource: '*',
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': logGroupPrefixes.map((prefix) => `arn:aws:logs:${region}:${accountId}:log-group:${prefix}*`),
          },
        },
      });
    }
    if (props.cloudFrontDistributionArn !== undefined) {
      statements.push({
        Sid: 'CloudFrontOriginAccessControlDecrypts',
        Effect: 'Allow',
        Principal: { Service: 'cloudfront.amazonaws.com' },
        // Reads only: the CDN never writes to its origin.
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'AWS:SourceArn': props.cloudFrontDistributionArn } },
      });
    }

    this.key = new KmsKey(this, 'key', {
      provider: props.provider,
      description: `${location.id}: ${props.purpose}`,
      enableKeyRotation: true,
      deletionWindowInDays: deletionWindowDays,
      policy: policyDocument(statements),
    });
    this.alias = new KmsAlias(this, 'alias', {
      provider: props.provider,
      name: `alias/${location.id}/${props.purpose}`,
      targetKeyId: this.key.keyId,
    });
    this.keyArn = this.key.arn;
  }
}
