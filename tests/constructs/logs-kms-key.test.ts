import { LogsKmsKey, type LogsKmsKeyProps } from '../../stacks/infra/constructs/logs-kms-key';
import { constructStacks } from '../support/stacks/platform-fixtures';
import { addressOf, parsePolicy, refTo, resourceAt, synthJson } from '../support/stacks/synth-json';

describe('LogsKmsKey', () => {
  const newStack = constructStacks();

  function build(props: Partial<LogsKmsKeyProps> = {}) {
    const stack = newStack();
    const key = new LogsKmsKey(stack, 'logs-key', { aliasName: 'restaurant-test/logs', region: 'ap-southeast-1', ...props });
    return { stack, key };
  }

  const { stack, key } = build();
  key.createLogGroup(stack, 'log-group', { name: '/test/group', retentionDays: 30 });
  const json = synthJson(stack);
  const keyArn = `${addressOf(stack, 'logs-key/key')}.arn`;

  describe('defaults', () => {
    test('a rotating key with a 30-day deletion window and an alias', () => {
      expect(resourceAt(json, stack, 'logs-key/key')).toMatchObject({ enable_key_rotation: true, deletion_window_in_days: 30 });
      expect(resourceAt(json, stack, 'logs-key/alias')).toMatchObject({ name: 'alias/restaurant-test/logs' });
    });

    test('leaves the key policy to a separate resource, so it can read the key\'s own ARN', () => {
      expect(resourceAt(json, stack, 'logs-key/key').policy).toBeUndefined();
      expect(resourceAt(json, stack, 'logs-key/policy').key_id).toBe(refTo(stack, 'logs-key/key', 'key_id'));
    });
  });

  describe('behaviour', () => {
    const policy = parsePolicy(resourceAt(json, stack, 'logs-key/policy').policy);
    const partition = `\${element(split(":", ${keyArn}), 1)}`;
    const account = `\${element(split(":", ${keyArn}), 4)}`;

    test('keeps the account in control of the key', () => {
      expect(policy.Statement[0]).toEqual({
        Sid: 'AccountAdministersKey',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${account}:root` },
        Action: 'kms:*',
        Resource: '*',
      });
    });

    test('lets only this region\'s CloudWatch Logs use it, for this account\'s log groups', () => {
      expect(policy.Statement[1]).toMatchObject({
        Principal: { Service: 'logs.ap-southeast-1.amazonaws.com' },
        Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${partition}:logs:ap-southeast-1:${account}:log-group:*` } },
      });
    });

    test('createLogGroup encrypts the group and waits for the key policy', () => {
      expect(resourceAt(json, stack, 'log-group')).toMatchObject({
        name: '/test/group',
        retention_in_days: 30,
        kms_key_id: refTo(stack, 'logs-key/key', 'arn'),
        depends_on: [addressOf(stack, 'logs-key/policy')],
      });
    });
  });

  describe('errors', () => {
    test('fails when retentionDays is not a CloudWatch value', () => {
      const other = build();
      expect(() => other.key.createLogGroup(other.stack, 'bad', { name: '/test/bad', retentionDays: 45 })).toThrow(
        'retentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 45 (log group "/test/bad")',
      );
    });

    test.each(['aws/logs', 'has space', ''])('fails when aliasName is "%s"', (aliasName) => {
      expect(() => build({ aliasName })).toThrow(
        `aliasName must be 1-250 letters, digits, /, _ or - and must not start with "aws/", got "${aliasName}" (logs key "logs-key")`,
      );
    });

    test('fails when deletionWindowDays is outside 7..30', () => {
      expect(() => build({ deletionWindowDays: 3 })).toThrow('deletionWindowDays must be an integer 7..30, got 3 (logs key "logs-key")');
    });
  });
});
