/**
 * One customer-managed KMS key for the CloudWatch Logs groups of a stack (VPC flow logs, EKS
 * control-plane logs), and the intent method that creates a log group encrypted with it.
 *
 * CloudWatch Logs may only use a key whose policy names the `logs.<region>` service, and a key
 * policy must also keep the account in control of the key; both statements need the account id.
 * Rather than look it up (a data source that calls AWS, which synth and the offline plan must not
 * need), the key starts with AWS's default policy and a separate `aws_kms_key_policy` reads the
 * partition and account from the key's own ARN.
 */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy';
import { Construct } from 'constructs';
import { Fn } from '../cdktf';

/** The values CloudWatch Logs accepts for `retention_in_days`. */
export const CLOUDWATCH_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface LogsKmsKeyProps {
  /** Alias of the key, without the `alias/` prefix; names the key in the console and in CloudTrail. */
  readonly aliasName: string;
  /** Region of the stack: the key policy admits only this region's CloudWatch Logs service. */
  readonly region: string;
  /**
   * Days a deleted key stays recoverable; logs encrypted with it are unreadable once it is gone.
   * @default 30
   */
  readonly deletionWindowDays?: number;
}

export interface EncryptedLogGroupOptions {
  /** Log group name; services such as EKS expect a fixed one (`/aws/eks/<cluster>/cluster`). */
  readonly name: string;
  /** Must be one of CLOUDWATCH_RETENTION_DAYS. */
  readonly retentionDays: number;
}

const ALIAS_PATTERN = /^[a-zA-Z0-9/_-]{1,250}$/;

export class LogsKmsKey extends Construct {
  readonly key: KmsKey;
  /** Partition (`aws`, `aws-cn`, ...) of the key's ARN. */
  readonly partition: string;
  /** Account that owns the key, and so the stack: read from the key's ARN, not looked up. */
  readonly accountId: string;
  private readonly policy: KmsKeyPolicy;

  constructor(scope: Construct, id: string, props: LogsKmsKeyProps) {
    super(scope, id);
    const deletionWindowDays = props.deletionWindowDays ?? 30;
    if (!ALIAS_PATTERN.test(props.aliasName) || props.aliasName.startsWith('aws/')) {
      throw new Error(
        `aliasName must be 1-250 letters, digits, /, _ or - and must not start with "aws/", got "${props.aliasName}" (logs key "${id}")`,
      );
    }
    if (!Number.isInteger(deletionWindowDays) || deletionWindowDays < 7 || deletionWindowDays > 30) {
      throw new Error(`deletionWindowDays must be an integer 7..30, got ${deletionWindowDays} (logs key "${id}")`);
    }

    this.key = new KmsKey(this, 'key', {
      description: `CloudWatch Logs encryption (${props.aliasName})`,
      enableKeyRotation: true,
      deletionWindowInDays: deletionWindowDays,
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.aliasName}`, targetKeyId: this.key.keyId });

    const arnParts = Fn.split(':', this.key.arn);
    this.partition = Fn.element(arnParts, 1);
    this.accountId = Fn.element(arnParts, 4);

    this.policy = new KmsKeyPolicy(this, 'policy', {
      keyId: this.key.keyId,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            // Without this the key could not be managed (and KMS refuses the policy): IAM policies
            // of the account decide who administers and uses the key, as with the default policy.
            Sid: 'AccountAdministersKey',
            Effect: 'Allow',
            Principal: { AWS: `arn:${this.partition}:iam::${this.accountId}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
          {
            Sid: 'CloudWatchLogsUsesKeyForThisAccountsLogGroups',
            Effect: 'Allow',
            Principal: { Service: `logs.${props.region}.amazonaws.com` },
            Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
            Resource: '*',
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${props.region}:${this.accountId}:log-group:*`,
              },
            },
          },
        ],
      }),
    });
  }

  get arn(): string {
    return this.key.arn;
  }

  /**
   * A log group encrypted with this key. It waits for the key policy: CloudWatch Logs checks its
   * access to the key when the group is created.
   */
  createLogGroup(scope: Construct, id: string, options: EncryptedLogGroupOptions): CloudwatchLogGroup {
    if (!(CLOUDWATCH_RETENTION_DAYS as readonly number[]).includes(options.retentionDays)) {
      throw new Error(
        `retentionDays must be one of ${CLOUDWATCH_RETENTION_DAYS.join(', ')}, got ${options.retentionDays} (log group "${options.name}")`,
      );
    }
    return new CloudwatchLogGroup(scope, id, {
      name: options.name,
      retentionInDays: options.retentionDays,
      kmsKeyId: this.key.arn,
      dependsOn: [this.policy],
    });
  }
}
