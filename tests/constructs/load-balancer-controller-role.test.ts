import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  LOAD_BALANCER_CONTROLLER_POLICY_FILE,
  LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
  LoadBalancerControllerRole,
  type LoadBalancerControllerRoleProps,
  loadBalancerControllerPolicy,
} from '../../stacks/infra/constructs/load-balancer-controller-role';
import { clusterWithIrsa, constructStacks } from '../support/stacks/platform-fixtures';
import { expectIrsaTrust, parsePolicy, refTo, resourceAt, resourcesOfType, synthJson } from '../support/stacks/synth-json';

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Every statement that allows `action`. */
function statementsAllowing(policy: { Statement: Statement[] }, action: string): Statement[] {
  return policy.Statement.filter((s) => s.Effect === 'Allow' && s.Action.includes(action));
}

describe('LoadBalancerControllerRole', () => {
  const newStack = constructStacks();

  function build(props: Partial<Omit<LoadBalancerControllerRoleProps, 'oidcProvider'>> = {}, partition?: string) {
    const stack = newStack();
    const { oidcProvider } = clusterWithIrsa(stack, { partition });
    const role = new LoadBalancerControllerRole(stack, 'lbc', { oidcProvider, roleName: 'restaurant-test-aws-load-balancer-controller', ...props });
    return { stack, role };
  }

  const { stack, role } = build();
  const json = synthJson(stack);
  const trust = parsePolicy(resourceAt(json, stack, 'lbc/role').assume_role_policy);
  const inline = resourceAt(json, stack, 'lbc/policy');
  const policy = JSON.parse(inline.policy) as { Version: string; Statement: Statement[] };

  describe('defaults', () => {
    test('trusts exactly kube-system/aws-load-balancer-controller through the cluster\'s OIDC provider', () => {
      expect(LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT).toEqual({ namespace: 'kube-system', name: 'aws-load-balancer-controller' });
      expectIrsaTrust(trust, stack, { namespace: 'kube-system', name: 'aws-load-balancer-controller' });
      expect(role.serviceAccount).toBe(LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT);
    });

    test('names the role and attaches the upstream policy inline, and nothing else', () => {
      expect(resourceAt(json, stack, 'lbc/role').name).toBe('restaurant-test-aws-load-balancer-controller');
      expect(inline).toMatchObject({ name: 'aws-load-balancer-controller', role: refTo(stack, 'lbc/role', 'id') });
      const attachedToRole = Object.values(resourcesOfType(json, 'aws_iam_role_policy_attachment')).filter(
        (a) => a.role === refTo(stack, 'lbc/role', 'name'),
      );
      expect(attachedToRole).toEqual([]);
    });

    test('is the data file, unchanged apart from whitespace', () => {
      const file = JSON.parse(fs.readFileSync(LOAD_BALANCER_CONTROLLER_POLICY_FILE, 'utf8'));
      expect(policy).toEqual(file);
      expect(policy.Version).toBe('2012-10-17');
      expect(policy.Statement).toHaveLength(16);
    });

    test('fits IAM\'s 10,240-character limit for a role\'s inline policies', () => {
      expect(inline.policy.replace(/\s/g, '').length).toBeLessThan(10_240);
    });
  });

  describe('behaviour', () => {
    // What the controller calls to turn a LoadBalancer Service with IP targets into an NLB.
    test.each([
      'ec2:DescribeSubnets',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeVpcs',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeAvailabilityZones',
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeTargetHealth',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:CreateListener',
      'elasticloadbalancing:DeleteListener',
      'elasticloadbalancing:ModifyListener',
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:CreateSecurityGroup',
    ])('allows %s for an NLB with IP targets', (action) => {
      expect(statementsAllowing(policy, action).length).toBeGreaterThan(0);
    });

    test('creates load balancers and target groups only with the controller\'s cluster tag', () => {
      for (const action of ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup']) {
        expect(statementsAllowing(policy, action)).toEqual([
          expect.objectContaining({ Resource: '*', Condition: { Null: { 'aws:RequestTag/elbv2.k8s.aws/cluster': 'false' } } }),
        ]);
      }
    });

    test('changes and deletes only load balancers and target groups carrying the controller\'s cluster tag', () => {
      for (const action of [
        'elasticloadbalancing:DeleteLoadBalancer',
        'elasticloadbalancing:ModifyLoadBalancerAttributes',
        'elasticloadbalancing:ModifyTargetGroupAttributes',
        'elasticloadbalancing:DeleteTargetGroup',
        'ec2:DeleteSecurityGroup',
      ]) {
        const statements = statementsAllowing(policy, action);
        expect(statements.length).toBeGreaterThan(0);
        for (const statement of statements) {
          expect(statement.Condition?.Null?.['aws:ResourceTag/elbv2.k8s.aws/cluster']).toBe('false');
        }
      }
    });

    test('registers pod addresses only in target groups', () => {
      expect(statementsAllowing(policy, 'elasticloadbalancing:RegisterTargets')).toEqual([
        expect.objectContaining({ Resource: 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*' }),
      ]);
      expect(statementsAllowing(policy, 'elasticloadbalancing:DeregisterTargets')).toHaveLength(1);
    });

    test('may create only the Elastic Load Balancing service-linked role', () => {
      expect(statementsAllowing(policy, 'iam:CreateServiceLinkedRole')).toEqual([
        expect.objectContaining({ Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } } }),
      ]);
    });

    test('rewrites the ARNs for the cluster\'s partition', () => {
      const china = build({}, 'aws-cn');
      const chinaPolicy = resourceAt(synthJson(china.stack), china.stack, 'lbc/policy').policy as string;
      expect(chinaPolicy).toContain('"arn:aws-cn:elasticloadbalancing:*:*:targetgroup/*/*"');
      expect(chinaPolicy).not.toContain('"arn:aws:');
      expect(JSON.parse(chinaPolicy).Statement).toHaveLength(16);
    });

    test('trusts another service account when given one', () => {
      const other = build({ serviceAccount: { namespace: 'lb-system', name: 'lbc' } });
      const otherTrust = parsePolicy(resourceAt(synthJson(other.stack), other.stack, 'lbc/role').assume_role_policy);
      expect(Object.values(otherTrust.Statement[0].Condition.StringEquals)).toContain('system:serviceaccount:lb-system:lbc');
    });
  });

  describe('errors', () => {
    test('fails when the role name is not an IAM role name', () => {
      expect(() => build({ roleName: 'restaurant test lbc' })).toThrow(
        'roleName must be 1-64 letters, digits or +=,.@_- characters, got "restaurant test lbc" (service account role "lbc/role")',
      );
    });
  });
});

describe('loadBalancerControllerPolicy', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lbc-policy-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  test('minifies the file and keeps the aws partition as it is', () => {
    const file = write('ok.json', '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": ["a:B"], "Resource": "arn:aws:x:::y"}]\n}\n');
    expect(loadBalancerControllerPolicy('aws', file)).toBe('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["a:B"],"Resource":"arn:aws:x:::y"}]}');
    expect(loadBalancerControllerPolicy('aws-us-gov', file)).toContain('"arn:aws-us-gov:x:::y"');
  });

  test('fails when the file is missing', () => {
    expect(() => loadBalancerControllerPolicy('aws', path.join(dir, 'absent.json'))).toThrow(
      `absent.json must exist (the AWS Load Balancer Controller IAM policy), got no such file in ${dir}`,
    );
  });

  test('fails when the file is not JSON', () => {
    const file = write('broken.json', '{"Version": "2012-10-17",');
    expect(() => loadBalancerControllerPolicy('aws', file)).toThrow(/^broken\.json must be valid JSON, got: /);
  });

  test('fails when the file is not a policy document', () => {
    const file = write('empty.json', '{"Version": "2012-10-17", "Statement": []}');
    expect(() => loadBalancerControllerPolicy('aws', file)).toThrow(
      'empty.json must be an IAM policy document (Version "2012-10-17" and a non-empty Statement list), got {"Version":"2012-10-17","Statement":[]}',
    );
  });
});
