import { irsaTrustPolicy } from '../../stacks/infra/constructs/irsa-oidc-provider';
import { clusterWithIrsa, constructStacks } from '../support/stacks/platform-fixtures';
import { parsePolicy, refTo, resourceAt, synthJson } from '../support/stacks/synth-json';

describe('IrsaOidcProvider', () => {
  const stack = constructStacks()();
  const { oidcProvider: irsa } = clusterWithIrsa(stack);
  irsa.createServiceAccountRole(stack, 'ebs-role', {
    roleName: 'restaurant-test-ebs',
    serviceAccount: { namespace: 'kube-system', name: 'ebs-csi-controller-sa' },
    managedPolicies: ['service-role/AmazonEBSCSIDriverPolicy'],
  });
  const json = synthJson(stack);
  const issuer = refTo(stack, 'cluster/cluster', 'identity[0].oidc[0].issuer');

  describe('defaults', () => {
    test('trusts the cluster\'s issuer for STS, leaving the thumbprint to IAM', () => {
      const provider = resourceAt(json, stack, 'irsa/provider');
      expect(provider).toMatchObject({ url: issuer, client_id_list: ['sts.amazonaws.com'] });
      expect(provider.thumbprint_list).toBeUndefined();
    });
  });

  describe('behaviour', () => {
    test('issuerHostPath strips the scheme from the issuer', () => {
      const hostPath = `\${replace(${issuer.slice(2, -1)}, "https://", "")}`;
      const trust = parsePolicy(resourceAt(json, stack, 'ebs-role').assume_role_policy);
      expect(Object.keys(trust.Statement[0].Condition.StringEquals)).toEqual([`${hostPath}:sub`, `${hostPath}:aud`]);
    });

    test('createServiceAccountRole trusts exactly one service account and attaches its policies', () => {
      const trust = parsePolicy(resourceAt(json, stack, 'ebs-role').assume_role_policy);
      expect(trust.Statement[0]).toMatchObject({
        Principal: { Federated: refTo(stack, 'irsa/provider', 'arn') },
        Action: 'sts:AssumeRoleWithWebIdentity',
      });
      expect(Object.values(trust.Statement[0].Condition.StringEquals)).toEqual([
        'system:serviceaccount:kube-system:ebs-csi-controller-sa',
        'sts.amazonaws.com',
      ]);
      expect(resourceAt(json, stack, 'ebs-role-AmazonEBSCSIDriverPolicy')).toMatchObject({
        role: refTo(stack, 'ebs-role', 'name'),
        policy_arn: 'arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy',
      });
    });

    test('irsaTrustPolicy works from platform outputs alone', () => {
      const policy = JSON.parse(
        irsaTrustPolicy(
          { oidcProviderArn: 'arn:aws:iam::111122223333:oidc-provider/oidc.eks.ap-southeast-1.amazonaws.com/id/ABC', oidcIssuerHostPath: 'oidc.eks.ap-southeast-1.amazonaws.com/id/ABC' },
          { namespace: 'sukhumvit-cafe', name: 'api' },
        ),
      );
      expect(policy.Statement[0].Condition).toEqual({
        StringEquals: {
          'oidc.eks.ap-southeast-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:sukhumvit-cafe:api',
          'oidc.eks.ap-southeast-1.amazonaws.com/id/ABC:aud': 'sts.amazonaws.com',
        },
      });
    });
  });

  describe('errors', () => {
    const role = (roleName: string, namespace: string, name: string) => () =>
      irsa.createServiceAccountRole(stack, 'bad-role', { roleName, serviceAccount: { namespace, name } });

    test.each(['', 'has space', `r${'x'.repeat(64)}`])('fails when roleName is "%s"', (roleName) => {
      expect(role(roleName, 'kube-system', 'sa')).toThrow(
        `roleName must be 1-64 letters, digits or +=,.@_- characters, got "${roleName}" (service account role "${stack.node.id}/bad-role")`,
      );
    });

    test.each(['Kube-System', '-kube', 'kube.system'])('fails when serviceAccount.namespace is "%s"', (namespace) => {
      expect(role('ok-role', namespace, 'sa')).toThrow(
        `serviceAccount.namespace must be a Kubernetes namespace name (1-63 lowercase letters, digits or -, starting and ending with a letter or digit), got "${namespace}" (service account role "${stack.node.id}/bad-role")`,
      );
    });

    test.each(['', 'SA', 'sa_1', 'sa-'])('fails when serviceAccount.name is "%s"', (name) => {
      expect(role('ok-role', 'kube-system', name)).toThrow(
        `serviceAccount.name must be a Kubernetes service account name (lowercase DNS subdomain, at most 253 characters), got "${name}" (service account role "${stack.node.id}/bad-role")`,
      );
    });
  });
});
