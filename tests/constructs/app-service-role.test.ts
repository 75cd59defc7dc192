import { APP_SERVICE_ACCOUNT_NAME } from '../../contract/constants';
import { TerraformOutput, Testing } from '../../stacks/infra/cdktf';
import {
  AppServiceRole,
  type AppServiceRoleProps,
  arnAccountId,
  policyDocument,
} from '../../stacks/infra/constructs/app-service-role';
import { blockOf, hostStack, policy } from '../support/stacks/data-fixtures';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';
import { synthJson } from '../support/stacks/synth-json';

const OIDC_ARN = 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/ABC';
const ISSUER = 'oidc.eks.ap-southeast-1.amazonaws.com/id/ABC';

describe('AppServiceRole', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(props: Partial<AppServiceRoleProps> & Pick<AppServiceRoleProps, 'location'>) {
    const { stack } = hostStack(app, `role-${++stackCount}`, props.location);
    const role = new AppServiceRole(stack, 'app-role', { oidcProviderArn: OIDC_ARN, oidcIssuerHostPath: ISSUER, ...props });
    return { role, json: synthJson(stack) };
  }

  describe('defaults', () => {
    const { role, json } = build({ location: sampleLocation('sukhumvit-cafe') });

    test('the service account is `api` in the location namespace', () => {
      expect(APP_SERVICE_ACCOUNT_NAME).toBe('api');
      expect(role.serviceAccountSubject).toBe('system:serviceaccount:sukhumvit-cafe:api');
    });

    test('named for the location, one-hour sessions, no permissions of its own', () => {
      const block = blockOf(json, role.role);
      expect(block).toMatchObject({ name: 'sukhumvit-cafe-api', max_session_duration: 3600 });
      expect(block).not.toHaveProperty('inline_policy');
      expect(block).not.toHaveProperty('managed_policy_arns');
    });
  });

  describe('errors', () => {
    test('fails when maxSessionDurationSeconds is above 12 hours', () => {
      expect(() => build({ location: sampleLocation('sukhumvit-cafe'), maxSessionDurationSeconds: 86400 })).toThrow(
        'maxSessionDurationSeconds must be 3600..43200, got 86400 (location "sukhumvit-cafe")',
      );
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const { role, json } = build({ location: sampleLocation(id) });

    test('the trust policy admits one service account of one cluster, for STS only', () => {
      expect(policy(blockOf(json, role.role).assume_role_policy).Statement).toEqual([
        {
          Sid: 'ApiServiceAccount',
          Effect: 'Allow',
          Principal: { Federated: OIDC_ARN },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${ISSUER}:sub`]: `system:serviceaccount:${id}:api`,
              [`${ISSUER}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ]);
    });
  });

  describe('policy helpers', () => {
    test('policyDocument writes version 2012-10-17 around the statements', () => {
      expect(JSON.parse(policyDocument([{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/k' }]))).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/k' }],
      });
    });

    test('arnAccountId takes the fifth field of an ARN in Terraform, with no AWS call', () => {
      const { stack } = hostStack(app, 'arn-account', sampleLocation('sukhumvit-cafe'));
      const role = new AppServiceRole(stack, 'app-role', { location: sampleLocation('sukhumvit-cafe'), oidcProviderArn: OIDC_ARN, oidcIssuerHostPath: ISSUER });
      new TerraformOutput(stack, 'account', { value: arnAccountId(role.roleArn) });
      expect(synthJson(stack).output.account.value).toBe(`\${element(split(":", aws_iam_role.${role.role.friendlyUniqueId}.arn), 4)}`);
    });
  });
});
