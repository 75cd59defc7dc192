/**
 * The IAM role the api's Kubernetes service account assumes through IRSA (IAM roles for service
 * accounts). The trust policy admits exactly one service account of one cluster; permissions are
 * added by the resources themselves (`db.grantConnect(role)`, `assets.grantWrite(role, prefix)`),
 * each an inline policy naming specific ARNs, so the role can do nothing it was not granted.
 *
 * Also home of the small IAM policy helpers the data constructs share.
 */
import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { APP_SERVICE_ACCOUNT_NAME } from '../../../contract/constants';
import { Fn, Token } from '../cdktf';
import type { Location } from '../config/location';

// Strings only: IAM compares condition values as strings, and AWS returns them as such.
type ConditionValue = string | readonly string[];

/** One statement of an IAM policy document, in AWS's own JSON casing. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, ConditionValue>>>>;
}

/**
 * A policy document as a JSON string. Plain JSON (not `Fn.jsonencode`) keeps the synthesized
 * policy readable and testable: cdktf interpolates tokens inside the string (`${aws_x.y.arn}`).
 * Statements must hold single-valued tokens only, never token lists.
 */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

/**
 * The account id inside an ARN (`arn:partition:service:region:account:resource`). Deriving it from
 * an ARN we already have avoids the `aws_caller_identity` data source, which would call AWS during
 * an offline plan.
 */
export function arnAccountId(arn: string): string {
  return Token.asString(Fn.element(Fn.split(':', arn), 4));
}

export interface AppServiceRoleProps {
  readonly location: Location;
  /** ARN of the cluster's IAM OIDC provider (platform stack). */
  readonly oidcProviderArn: string;
  /** OIDC issuer without `https://`, the prefix of the trust-policy condition keys. */
  readonly oidcIssuerHostPath: string;
  /**
   * Kubernetes namespace of the service account.
   * @default - the location id (each location runs in its own namespace)
   */
  readonly namespace?: string;
  /**
   * Name of the Kubernetes service account allowed to assume the role.
   * @default APP_SERVICE_ACCOUNT_NAME
   */
  readonly serviceAccountName?: string;
  /**
   * Longest session the pods may request, in seconds.
   * @default 3600 (the SDKs refresh web-identity credentials well before expiry)
   */
  readonly maxSessionDurationSeconds?: number;
}

export class AppServiceRole extends Construct {
  readonly role: IamRole;
  readonly roleArn: string;
  readonly roleName: string;
  /** `system:serviceaccount:<namespace>:<name>`, the subject the trust policy admits. */
  readonly serviceAccountSubject: string;

  constructor(scope: Construct, id: string, props: AppServiceRoleProps) {
    super(scope, id);
    const { location } = props;
    const namespace = props.namespace ?? location.id;
    const serviceAccountName = props.serviceAccountName ?? APP_SERVICE_ACCOUNT_NAME;
    const maxSessionDurationSeconds = props.maxSessionDurationSeconds ?? 3600;
    if (!Token.isUnresolved(maxSessionDurationSeconds) && (maxSessionDurationSeconds < 3600 || maxSessionDurationSeconds > 43200)) {
      throw new Error(`maxSessionDurationSeconds must be 3600..43200, got ${maxSessionDurationSeconds} (location "${location.id}")`);
    }
    this.serviceAccountSubject = `system:serviceaccount:${namespace}:${serviceAccountName}`;

    this.role = new IamRole(this, 'role', {
      name: `${location.id}-api`,
      description: `IRSA role of the ${location.id} api service account`,
      maxSessionDuration: maxSessionDurationSeconds,
      assumeRolePolicy: policyDocument([
        {
          Sid: 'ApiServiceAccount',
          Effect: 'Allow',
          Principal: { Federated: props.oidcProviderArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            // Both keys pinned: `sub` names the one service account, `aud` the STS audience the
            // EKS pod identity webhook requests; without `sub` any pod in the cluster could assume it.
            StringEquals: {
              [`${props.oidcIssuerHostPath}:sub`]: this.serviceAccountSubject,
              [`${props.oidcIssuerHostPath}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ]),
    });
    this.roleArn = this.role.arn;
    this.roleName = this.role.name;
  }
}
