/**
 * The IRSA role of the AWS Load Balancer Controller, which the addons stack installs. The
 * controller turns each app stack's LoadBalancer Service (`aws-load-balancer-type: external`,
 * `nlb-target-type: ip`) into a Network Load Balancer whose target group holds the nginx pod
 * addresses, and opens the node security group to it.
 *
 * Permissions: the IAM policy the controller project publishes, kept verbatim as a data file,
 * `policies/aws-load-balancer-controller-iam-policy.json`.
 *   Upstream: kubernetes-sigs/aws-load-balancer-controller, `docs/install/iam_policy.json`,
 *   controller v2.13 line (chart `aws-load-balancer-controller` 1.13.x, pinned in ADDON_CHARTS).
 *   https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/v2.13.2/docs/install/iam_policy.json
 * When the chart is bumped, replace the file with the one of the new controller tag and review
 * the diff: a controller newer than its policy fails with AccessDenied in its logs while the
 * Service stays pending, which no plan shows. Only the partition of the policy's ARNs is adapted
 * at synth (upstream's `iam_policy_cn.json` / `iam_policy_us-gov.json` differ in it).
 *
 * Why the upstream policy and not a reduced one: the controller's write actions are already
 * scoped by the `elbv2.k8s.aws/cluster` tag it puts on everything it creates; what a reduced
 * policy would remove is mostly describe calls and ALB features (WAF, Shield, ACM) that cost
 * nothing unused, while a missing action only shows up at apply time on a live cluster. The two
 * unconditioned write statements (security-group ingress on any group) are needed to open the
 * EKS-managed node security group, which the controller did not create, to its NLBs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import type { IrsaOidcProvider, ServiceAccountRef } from './irsa-oidc-provider';

/** Where the chart's service account lives; the chart's release goes into the same namespace. */
export const LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: 'kube-system', name: 'aws-load-balancer-controller' };

/** The upstream policy document, verbatim. */
export const LOAD_BALANCER_CONTROLLER_POLICY_FILE = path.join(__dirname, 'policies', 'aws-load-balancer-controller-iam-policy.json');

export interface LoadBalancerControllerRoleProps {
  /** The cluster's IRSA provider; the role trusts its issuer. */
  readonly oidcProvider: IrsaOidcProvider;
  /** IAM role name, unique in the account (so include the region). */
  readonly roleName: string;
  /**
   * The controller's service account; must match the chart's `serviceAccount.name` and release namespace.
   * @default LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT
   */
  readonly serviceAccount?: ServiceAccountRef;
}

/**
 * The upstream policy from `file`, minified, with its `arn:aws:` ARNs moved to `partition`.
 * Throws when the file is missing, not JSON, or not an IAM policy document.
 */
export function loadBalancerControllerPolicy(partition: string, file: string = LOAD_BALANCER_CONTROLLER_POLICY_FILE): string {
  const shown = path.basename(file);
  if (!fs.existsSync(file)) {
    throw new Error(`${shown} must exist (the AWS Load Balancer Controller IAM policy), got no such file in ${path.dirname(file)}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${shown} must be valid JSON, got: ${(err as Error).message}`);
  }
  const policy = document as { Version?: unknown; Statement?: unknown } | null;
  if (policy === null || typeof policy !== 'object' || policy.Version !== '2012-10-17' || !Array.isArray(policy.Statement) || policy.Statement.length === 0) {
    throw new Error(`${shown} must be an IAM policy document (Version "2012-10-17" and a non-empty Statement list), got ${JSON.stringify(document).slice(0, 80)}`);
  }
  return JSON.stringify(document).split('"arn:aws:').join(`"arn:${partition}:`);
}

export class LoadBalancerControllerRole extends Construct {
  readonly role: IamRole;
  readonly policy: IamRolePolicy;
  readonly serviceAccount: ServiceAccountRef;

  constructor(scope: Construct, id: string, props: LoadBalancerControllerRoleProps) {
    super(scope, id);
    this.serviceAccount = props.serviceAccount ?? LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT;
    // Read (and checked) before any resource exists.
    const document = loadBalancerControllerPolicy(props.oidcProvider.partition);

    this.role = props.oidcProvider.createServiceAccountRole(this, 'role', {
      roleName: props.roleName,
      serviceAccount: this.serviceAccount,
    });
    // Inline rather than a customer-managed policy: it lives and dies with the role, and the
    // inline limit (10,240 characters) leaves room for the policy's growth (about 5,200 today).
    this.policy = new IamRolePolicy(this, 'policy', {
      name: 'aws-load-balancer-controller',
      role: this.role.id,
      policy: document,
    });
  }

  get arn(): string {
    return this.role.arn;
  }
}
