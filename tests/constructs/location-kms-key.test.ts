import { Testing } from '../../stacks/infra/cdktf';
import { LocationKmsKey, type LocationKmsKeyProps } from '../../stacks/infra/constructs/location-kms-key';
import { ACCOUNT_ID, blockOf, hostStack, policy, refOf } from '../support/stacks/data-fixtures';
import { sampleLocation } from '../support/stacks/sample-locations';
import { synthJson } from '../support/stacks/synth-json';

describe('LocationKmsKey', () => {
  const app = Testing.app();
  const location = sampleLocation('london-shoreditch');
  let stackCount = 0;

  function build(props: Partial<LocationKmsKeyProps> = {}) {
    const { stack, usEast1 } = hostStack(app, `key-${++stackCount}`, location);
    const key = new LocationKmsKey(stack, 'key', { location, purpose: 'data', accountId: ACCOUNT_ID, ...props });
    return { key, json: synthJson(stack), usEast1 };
  }

  describe('defaults', () => {
    const { key, json } = build();
    const block = blockOf(json, key.key);

    test('rotates yearly and waits 30 days before deletion', () => {
      expect(block).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
    });

    test('an alias per location and purpose', () => {
      expect(blockOf(json, key.alias)).toEqual({ name: 'alias/london-shoreditch/data', target_key_id: refOf(key.key, 'key_id') });
    });

    test('the key policy only delegates to IAM of the owning account', () => {
      expect(policy(block.policy).Statement).toEqual([
        { Sid: 'AccountAdministersKeyThroughIam', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` }, Action: 'kms:*', Resource: '*' },
      ]);
    });
  });

  describe('errors', () => {
    test('fails when purpose is not a lowercase name', () => {
      expect(() => build({ purpose: 'Data Key' })).toThrow(
        'purpose must be 1-41 lowercase letters, digits and hyphens, got "Data Key" (location "london-shoreditch")',
      );
    });
    test('fails when deletionWindowDays is below 7', () => {
      expect(() => build({ deletionWindowDays: 5 })).toThrow('deletionWindowDays must be 7..30, got 5 (location "london-shoreditch")');
    });
  });

  describe('behaviour', () => {
    test('allowCloudWatchAlarms admits CloudWatch for this account only', () => {
      const { key, json } = build({ allowCloudWatchAlarms: true });
      const statement = policy(blockOf(json, key.key).policy).Statement.find((s) => s.Sid === 'CloudWatchAlarmsPublishToEncryptedTopics');
      expect(statement).toMatchObject({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT_ID } },
      });
    });

    test('cloudWatchLogGroupPrefixes admits the regional Logs service for those log groups only', () => {
      const { key, json } = build({ cloudWatchLogGroupPrefixes: ['/aws/rds/instance/london-shoreditch-postgres'] });
      const statement = policy(blockOf(json, key.key).policy).Statement.find((s) => s.Sid === 'CloudWatchLogsEncryptsLocationLogGroups');
      expect(statement).toMatchObject({
        Principal: { Service: 'logs.eu-west-2.amazonaws.com' },
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': [`arn:aws:logs:eu-west-2:${ACCOUNT_ID}:log-group:/aws/rds/instance/london-shoreditch-postgres*`],
          },
        },
      });
    });

    test('a key in another region through another provider', () => {
      const { stack, usEast1 } = hostStack(app, 'key-us-east-1', location);
      const key = new LocationKmsKey(stack, 'key', { location, purpose: 'edge-alerts', accountId: ACCOUNT_ID, region: 'us-east-1', provider: usEast1 });
      const json = synthJson(stack);
      expect(blockOf(json, key.key).provider).toBe('aws.us_east_1');
      expect(blockOf(json, key.alias).provider).toBe('aws.us_east_1');
    });
  });
});
