/**
 * IAM Roles for Service Accounts: the IAM OIDC provider for an EKS cluster's issuer, and the trust
 * policy a role needs so that exactly one Kubernetes service account can assume it.
 *
 * No thumbprint is given: IAM fetches the issuer's CA thumbprint itself when none is supplied, and
 * no longer checks it for issuers with certificates from well-known CAs (EKS's are). Computing it
 * here would need the `tls` provider's certificate data source, which calls out at plan time.
 */
import { IamOpenidConnectProvider } from '@cdktf/provider-aws/lib/iam-openid-connect-provider';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { Construct } from 'constructs';
import { Fn, Token } from '../cdktf';
import type { PlatformOutputs } from '../stack-contracts';
import type { EksCluster } from './eks-cluster';

/** The service account annotation naming the IRSA role, as a helm `set` key (dots escaped for helm). */
export const IRSA_ROLE_ANNOTATION_KEY = 'eks\\.amazonaws\\.com/role-arn';

export interface IrsaOidcProviderProps {
  readonly cluster: EksCluster;
}

export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

export interface ServiceAccountRoleOptions {
  /** IAM role name, unique in the account (so include the region). */
  readonly roleName: string;
  readonly serviceAccount: ServiceAccountRef;
  /** Names of AWS managed policies, e.g. `service-role/AmazonEBSCSIDriverPolicy`. @default [] */
  readonly managedPolicies?: readonly string[];
}

/** The audience EKS-projected service account tokens carry for STS. */
const STS_AUDIENCE = 'sts.amazonaws.com';

/**
 * Trust policy for a role assumed by one service account through IRSA. Takes the platform's
 * outputs, so a stack in another region-scoped layer (the data stack's app role) can use it too.
 */
export function irsaTrustPolicy(
  platform: Pick<PlatformOutputs, 'oidcProviderArn' | 'oidcIssuerHostPath'>,
  serviceAccount: ServiceAccountRef,
): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: platform.oidcProviderArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${platform.oidcIssuerHostPath}:sub`]: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
            [`${platform.oidcIssuerHostPath}:aud`]: STS_AUDIENCE,
          },
        },
      },
    ],
  });
}

export class IrsaOidcProvider extends Construct {
  readonly resource: IamOpenidConnectProvider;
  /** The issuer without `https://`, as trust-policy condition keys name it. */
  readonly issuerHostPath: string;
  /** Partition of the cluster (`aws`, `aws-cn`, `aws-us-gov`), for ARNs in the roles' policies. */
  readonly partition: string;

  constructor(scope: Construct, id: string, props: IrsaOidcProviderProps) {
    super(scope, id);
    this.partition = props.cluster.partition;
    this.resource = new IamOpenidConnectProvider(this, 'provider', {
      url: props.cluster.oidcIssuerUrl,
      clientIdList: [STS_AUDIENCE],
    });
    this.issuerHostPath = Fn.replace(props.cluster.oidcIssuerUrl, 'https://', '');
  }

  get arn(): string {
    return this.resource.arn;
  }

  /** An IAM role only `serviceAccount` can assume, with the given AWS managed policies attached. */
  createServiceAccountRole(scope: Construct, id: string, options: ServiceAccountRoleOptions): IamRole {
    validateServiceAccountRole(`${scope.node.id}/${id}`, options);
    const role = new IamRole(scope, id, {
      name: options.roleName,
      description: `IRSA role of service account ${options.serviceAccount.namespace}/${options.serviceAccount.name}`,
      assumeRolePolicy: irsaTrustPolicy({ oidcProviderArn: this.arn, oidcIssuerHostPath: this.issuerHostPath }, options.serviceAccount),
    });
    for (const policy of options.managedPolicies ?? []) {
      new IamRolePolicyAttachment(scope, `${id}-${policy.split('/').pop()}`, {
        role: role.name,
        policyArn: `arn:${this.partition}:iam::aws:policy/${policy}`,
      });
    }
    return role;
  }
}

/** IAM role names: 1-64 of letters, digits and `+=,.@_-`. */
const IAM_ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
/** Kubernetes namespaces are DNS labels (RFC 1123). */
const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Service account names are DNS subdomains (RFC 1123). */
const SERVICE_ACCOUNT_NAME_PATTERN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A role whose trust policy names a service account that cannot exist is never assumable, and
 * nothing reports it until a pod fails to get credentials: refuse it at synth instead.
 */
function validateServiceAccountRole(id: string, options: ServiceAccountRoleOptions): void {
  const { roleName, serviceAccount } = options;
  if (!Token.isUnresolved(roleName) && !IAM_ROLE_NAME_PATTERN.test(roleName)) {
    throw new Error(`roleName must be 1-64 letters, digits or +=,.@_- characters, got "${roleName}" (service account role "${id}")`);
  }
  if (!Token.isUnresolved(serviceAccount.namespace) && !NAMESPACE_PATTERN.test(serviceAccount.namespace)) {
    throw new Error(
      `serviceAccount.namespace must be a Kubernetes namespace name (1-63 lowercase letters, digits or -, starting and ending with a letter or digit), got "${serviceAccount.namespace}" (service account role "${id}")`,
    );
  }
  if (!Token.isUnresolved(serviceAccount.name) && !SERVICE_ACCOUNT_NAME_PATTERN.test(serviceAccount.name)) {
    throw new Error(
      `serviceAccount.name must be a Kubernetes service account name (lowercase DNS subdomain, at most 253 characters), got "${serviceAccount.name}" (service account role "${id}")`,
    );
  }
}
