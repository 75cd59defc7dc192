import { DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME } from '../../contract/constants';
import { Testing } from '../../stacks/infra/cdktf';
import { DatabaseBootstrapRole, type DatabaseBootstrapRoleProps } from '../../stacks/infra/constructs/database-bootstrap-role';
import { blockOf, hostStack, policy } from '../support/stacks/data-fixtures';
import { SAMPLE_LOCATION_IDS, sampleLocation } from '../support/stacks/sample-locations';
import { synthJson } from '../support/stacks/synth-json';

const OIDC_ARN = 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/ABC';
const ISSUER = 'oidc.eks.ap-southeast-1.amazonaws.com/id/ABC';

describe('DatabaseBootstrapRole', () => {
  const app = Testing.app();
  let stackCount = 0;

  function build(props: Partial<DatabaseBootstrapRoleProps> & Pick<DatabaseBootstrapRoleProps, 'location'>) {
    const { stack } = hostStack(app, `bootstrap-role-${++stackCount}`, props.location);
    const role = new DatabaseBootstrapRole(stack, 'db-bootstrap-role', { oidcProviderArn: OIDC_ARN, oidcIssuerHostPath: ISSUER, ...props });
    return { role, json: synthJson(stack) };
  }

  describe('defaults', () => {
    const { role, json } = build({ location: sampleLocation('sukhumvit-cafe') });

    test('the service account is `db-bootstrap` in the location namespace', () => {
      expect(DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME).toBe('db-bootstrap');
      expect(role.serviceAccountSubject).toBe('system:serviceaccount:sukhumvit-cafe:db-bootstrap');
    });

    test('named for the location, one-hour sessions, no permissions of its own', () => {
      const block = blockOf(json, role.role);
      expect(block).toMatchObject({ name: 'sukhumvit-cafe-db-bootstrap', max_session_duration: 3600 });
      expect(block).not.toHaveProperty('inline_policy');
      expect(block).not.toHaveProperty('managed_policy_arns');
    });
  });

  describe('errors', () => {
    test("fails when serviceAccountName is the app's", () => {
      expect(() => build({ location: sampleLocation('sukhumvit-cafe'), serviceAccountName: 'api' })).toThrow(
        'serviceAccountName must be a DNS label other than the app\'s "api" (the app must not read the master secret), got "api" (location "sukhumvit-cafe")',
      );
    });

    test('fails when serviceAccountName is not a DNS label', () => {
      expect(() => build({ location: sampleLocation('sukhumvit-cafe'), serviceAccountName: 'DB_Bootstrap' })).toThrow(
        'serviceAccountName must be a DNS label other than the app\'s "api" (the app must not read the master secret), got "DB_Bootstrap" (location "sukhumvit-cafe")',
      );
    });
  });

  describe.each(SAMPLE_LOCATION_IDS)('behaviour for %s', (id) => {
    const { role, json } = build({ location: sampleLocation(id) });

    test('the trust policy admits the bootstrap service account of one cluster, for STS only', () => {
      expect(policy(blockOf(json, role.role).assume_role_policy).Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Federated: OIDC_ARN },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${ISSUER}:sub`]: `system:serviceaccount:${id}:db-bootstrap`,
              [`${ISSUER}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ]);
    });
  });

  test('namespace and service account name can be given', () => {
    const { role } = build({ location: sampleLocation('london-shoreditch'), namespace: 'shoreditch', serviceAccountName: 'schema-owner' });
    expect(role.serviceAccountSubject).toBe('system:serviceaccount:shoreditch:schema-owner');
  });
});
