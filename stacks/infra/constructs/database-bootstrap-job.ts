/**
 * The database bootstrap of each release: a Job from the api image that runs
 * `node dist/db-bootstrap-main.js` (app/src/db/bootstrap.ts) before the release's migration. As
 * the RDS master (from the break-glass secret) it creates the `app` login role the migration logs
 * in as, grants it `rds_iam`, and hands it the database; on a bootstrapped database it changes
 * nothing and says so.
 *
 * - Its own service account, `db-bootstrap`, carries the data stack's bootstrap IRSA role, the only
 *   role allowed to read the master secret. The app's `api` account never gets that role.
 * - Named per release like the migration Job (`releaseJobName`): a Job's spec is immutable, and a
 *   new name per release tag makes Terraform run it again for every release. Running it again is
 *   harmless (every step checks first), and it repairs a role or ownership changed by hand.
 * - Waited for, without a TTL, for the migration Job's reasons (see database-maintenance-jobs.ts).
 */
import { Construct } from 'constructs';
import { JobV1 } from '@cdktf/provider-kubernetes/lib/job-v1';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME } from '../../../contract/constants';
import { Token } from '../cdktf';
import { releaseJobName } from './database-maintenance-jobs';
import {
  APP_CONTAINER_UID,
  type ContainerResources,
  environmentList,
  locationLabels,
  type PeakResources,
  peakOf,
  type QuotaConsumer,
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  tmpVolume,
  tmpVolumeMount,
} from './kubernetes-conventions';
import type { LocationNamespace } from './location-namespace';
import type { ComponentPods } from './network-policies';

export const DATABASE_BOOTSTRAP_COMMAND: readonly string[] = ['node', 'dist/db-bootstrap-main.js'];
/** `app.kubernetes.io/component` of the bootstrap pods (the NetworkPolicies select them by it). */
export const DATABASE_BOOTSTRAP_COMPONENT = 'db-bootstrap';
/** The environment contract's role of the bootstrap (`SERVICE_ROLE`). */
const SERVICE_ROLE = 'db-bootstrap';

/** One short Node process with one connection: a fraction of an api pod. */
export const DATABASE_BOOTSTRAP_RESOURCES: ContainerResources = {
  cpuRequestMillicores: 50,
  cpuLimitMillicores: 500,
  memoryRequestMiB: 128,
  memoryLimitMiB: 256,
};

/** Name of the bootstrap Job of a release, by the migration Job's recipe. */
export function databaseBootstrapJobName(releaseTag: string): string {
  return releaseJobName('db-bootstrap', releaseTag);
}

export interface DatabaseBootstrapJobProps {
  readonly namespace: LocationNamespace;
  /** The api image, pinned to the release. */
  readonly image: string;
  /** The release's image tag; it names the Job (see `databaseBootstrapJobName`). */
  readonly releaseTag: string;
  /** `containerEnvironment` for role `db-bootstrap`. */
  readonly environment: Readonly<Record<string, string>>;
  /** The data stack's `databaseBootstrapRoleArn`, which trusts this construct's service account. */
  readonly roleArn: string;
  /** @default DATABASE_BOOTSTRAP_RESOURCES */
  readonly resources?: ContainerResources;
  /**
   * Longest a run may take before the Job is failed (and with it the apply, before the migration).
   * @default 300
   */
  readonly deadlineSeconds?: number;
  /** @default 2 */
  readonly backoffLimit?: number;
}

export class DatabaseBootstrapJob extends Construct implements QuotaConsumer {
  readonly serviceAccount: ServiceAccountV1;
  readonly job: JobV1;
  readonly pods: ComponentPods;
  readonly peakResources: PeakResources;

  constructor(scope: Construct, id: string, props: DatabaseBootstrapJobProps) {
    super(scope, id);
    const { namespace } = props;
    const location = namespace.location;
    const resources = props.resources ?? DATABASE_BOOTSTRAP_RESOURCES;
    const deadline = props.deadlineSeconds ?? 300;
    const backoffLimit = props.backoffLimit ?? 2;
    const at = `(location "${location.id}")`;
    if (Token.isUnresolved(props.releaseTag) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(props.releaseTag) || props.releaseTag === 'latest') {
      throw new Error(`releaseTag must be a pinned image tag known at synth (not a token, not "latest"), got "${props.releaseTag}" ${at}`);
    }
    if (props.environment.SERVICE_ROLE !== SERVICE_ROLE) {
      throw new Error(`environment must be the containerEnvironment of role "${SERVICE_ROLE}", got SERVICE_ROLE "${props.environment.SERVICE_ROLE}" ${at}`);
    }
    if (!Number.isInteger(deadline) || deadline < 60 || deadline > 3600) {
      throw new Error(`deadlineSeconds must be an integer in 60..3600, got ${deadline} ${at}`);
    }
    if (!Number.isInteger(backoffLimit) || backoffLimit < 0 || backoffLimit > 10) {
      throw new Error(`backoffLimit must be an integer in 0..10, got ${backoffLimit} ${at}`);
    }

    // The api image's application name, as the other Jobs of that image carry it.
    const selector = {
      'app.kubernetes.io/name': 'order-api',
      'app.kubernetes.io/instance': location.id,
      'app.kubernetes.io/component': DATABASE_BOOTSTRAP_COMPONENT,
    };
    const labels = { ...locationLabels(location.id), ...selector };
    this.pods = { component: DATABASE_BOOTSTRAP_COMPONENT, podSelector: selector };
    // One run at a time: the migration waits for it, and the next release's run replaces it.
    this.peakResources = peakOf(1, [resources]);

    this.serviceAccount = new ServiceAccountV1(this, 'service-account', {
      metadata: {
        name: DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME,
        namespace: namespace.name,
        labels,
        annotations: { 'eks.amazonaws.com/role-arn': props.roleArn },
      },
      // The IRSA web identity token is projected by EKS; no Kubernetes API token is needed.
      automountServiceAccountToken: false,
    });

    this.job = new JobV1(this, 'job', {
      metadata: { name: databaseBootstrapJobName(props.releaseTag), namespace: namespace.name, labels },
      spec: {
        backoffLimit,
        activeDeadlineSeconds: deadline,
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: this.serviceAccount.metadata.name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            restartPolicy: 'Never',
            securityContext: restrictedPodSecurityContext(APP_CONTAINER_UID),
            volume: [tmpVolume()],
            container: [
              {
                name: DATABASE_BOOTSTRAP_COMPONENT,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                command: [...DATABASE_BOOTSTRAP_COMMAND],
                env: environmentList(props.environment),
                resources: resourceRequirements(resources),
                securityContext: restrictedContainerSecurityContext(APP_CONTAINER_UID),
                volumeMount: [tmpVolumeMount()],
              },
            ],
          },
        },
      },
      // A failed bootstrap fails the apply before the migration runs.
      waitForCompletion: true,
      timeouts: { create: `${Math.ceil(deadline / 60) + 2}m`, update: `${Math.ceil(deadline / 60) + 2}m` },
    });
  }
}
