/**
 * The IAM role of the database bootstrap Job (IRSA): its service account, `db-bootstrap` in the
 * location's namespace, is the only subject the trust policy admits. The role has one grant,
 * added by the database (`postgres.grantReadMasterSecret(role)`): reading the location's
 * break-glass master secret, so the Job can create the app's login role before the first
 * migration (app/src/db/bootstrap.ts). The api's service account is refused here on purpose: the
 * app must never be able to read the master login.
 */
import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { APP_SERVICE_ACCOUNT_NAME, DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME } from '../../../contract/constants';
import type { Location } from '../config/location';
import { irsaTrustPolicy } from './irsa-oidc-provider';

const SERVICE_ACCOUNT_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface DatabaseBootstrapRoleProps {
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
   * Name of the Kubernetes service account allowed to assume the role; never the app's.
   * @default DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME
   */
  readonly serviceAccountName?: string;
}

export class DatabaseBootstrapRole extends Construct {
  readonly role: IamRole;
  readonly roleArn: string;
  /** `system:serviceaccount:<namespace>:<name>`, the subject the trust policy admits. */
  readonly serviceAccountSubject: string;

  constructor(scope: Construct, id: string, props: DatabaseBootstrapRoleProps) {
    super(scope, id);
    const { location } = props;
    const namespace = props.namespace ?? location.id;
    const serviceAccountName = props.serviceAccountName ?? DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME;
    if (!SERVICE_ACCOUNT_NAME_PATTERN.test(serviceAccountName) || serviceAccountName === APP_SERVICE_ACCOUNT_NAME) {
      throw new Error(
        `serviceAccountName must be a DNS label other than the app's "${APP_SERVICE_ACCOUNT_NAME}" (the app must not read the master secret), got "${serviceAccountName}" (location "${location.id}")`,
      );
    }
    this.serviceAccountSubject = `system:serviceaccount:${namespace}:${serviceAccountName}`;

    this.role = new IamRole(this, 'role', {
      name: `${location.id}-db-bootstrap`,
      description: `IRSA role of the ${location.id} database bootstrap Job: reads the master secret`,
      // The Job runs for seconds; the shortest session IAM allows.
      maxSessionDuration: 3600,
      // As for the app's role: `sub` names the one service account, `aud` the STS audience.
      assumeRolePolicy: irsaTrustPolicy(props, { namespace, name: serviceAccountName }),
    });
    this.roleArn = this.role.arn;
  }
}
