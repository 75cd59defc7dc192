/**
 * Database work that runs from the api image outside the request path: the schema migration of
 * each release (a Job) and two schedules (CronJobs): refreshing the `daily_revenue_summary`
 * materialized view and creating future partitions of the orders table.
 *
 * Image contract (issue #4 builds the image): the api image contains
 *   `node dist/migrate.js up`             applies pending migrations, idempotent, exits 0 when done;
 *   `node dist/maintenance.js <task>`     runs one task of `MAINTENANCE_TASKS`, exits non-zero on failure.
 * Both read the same environment contract (`SERVICE_ROLE=migrate` / `maintenance`).
 */
import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { CronJobV1 } from '@cdktf/provider-kubernetes/lib/cron-job-v1';
import { JobV1 } from '@cdktf/provider-kubernetes/lib/job-v1';
import type { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { Token } from '../cdktf';
import {
  APP_CONTAINER_UID,
  type ContainerResources,
  environmentList,
  type PeakResources,
  peakOf,
  type PodGroup,
  type QuotaConsumer,
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  standardLabels,
  tmpVolume,
  tmpVolumeMount,
} from './kubernetes-conventions';
import type { LocationNamespace } from './location-namespace';

export const MIGRATION_COMMAND: readonly string[] = ['node', 'dist/migrate.js'];
export const MIGRATION_ARGS: readonly string[] = ['up'];
export const MAINTENANCE_COMMAND: readonly string[] = ['node', 'dist/maintenance.js'];

export interface MaintenanceTask {
  /** CronJob name. */
  readonly name: string;
  /** The argument `dist/maintenance.js` selects the task by. */
  readonly task: string;
  /** Five-field cron expression, in `Etc/UTC`. */
  readonly schedule: string;
  /** A run still going after this is killed; below the schedule interval, so runs never pile up. */
  readonly activeDeadlineSeconds: number;
  /** A run that could not start within this (controller down, quota full) is skipped. */
  readonly startingDeadlineSeconds: number;
  readonly backoffLimit: number;
}

export const MAINTENANCE_TASKS: readonly MaintenanceTask[] = [
  {
    // REFRESH MATERIALIZED VIEW CONCURRENTLY: readers keep the old rows meanwhile. Owner
    // dashboards may lag by up to a quarter hour, which the analytics pages state.
    name: 'refresh-daily-revenue',
    task: 'refresh-daily-revenue-summary',
    schedule: '*/15 * * * *',
    activeDeadlineSeconds: 600,
    startingDeadlineSeconds: 300,
    backoffLimit: 1,
  },
  {
    // Creates the next days' partitions ahead of time, so an insert never finds none; a missed
    // night is caught up by the next run, which is why the starting deadline is generous.
    name: 'create-order-partitions',
    task: 'create-order-partitions',
    schedule: '30 0 * * *',
    activeDeadlineSeconds: 1800,
    startingDeadlineSeconds: 3600,
    backoffLimit: 3,
  },
];

/**
 * Name of the migration Job of a release. A Job's spec cannot be changed once created, and
 * Terraform would not run an unchanged one again: a name per release tag makes every release a
 * new Job (Terraform replaces the previous one), and the same tag keeps the same Job.
 */
export function migrationJobName(releaseTag: string): string {
  return releaseJobName('migrate', releaseTag);
}

/** `<prefix>-<first 10 hex digits of sha256(releaseTag)>`: the name of a Job run once per release. */
export function releaseJobName(prefix: string, releaseTag: string): string {
  return `${prefix}-${createHash('sha256').update(releaseTag).digest('hex').slice(0, 10)}`;
}

export interface DatabaseMaintenanceJobsProps {
  readonly namespace: LocationNamespace;
  /** The api image, pinned to the release. */
  readonly image: string;
  /** The release's image tag; it names the migration Job (see `migrationJobName`). */
  readonly releaseTag: string;
  /** `containerEnvironment` for role `migrate`. */
  readonly migrateEnvironment: Readonly<Record<string, string>>;
  /** `containerEnvironment` for role `maintenance`. */
  readonly maintenanceEnvironment: Readonly<Record<string, string>>;
  /** Carries the IAM role: the jobs authenticate to the database with IAM tokens too. */
  readonly serviceAccount: ServiceAccountV1;
  /** Per job container. */
  readonly resources: ContainerResources;
  /**
   * Longest a migration may run before the Job is failed (and with it the apply).
   * @default 900
   */
  readonly migrationDeadlineSeconds?: number;
  /** @default 2 */
  readonly migrationBackoffLimit?: number;
  /** @default MAINTENANCE_TASKS */
  readonly maintenanceTasks?: readonly MaintenanceTask[];
}

export class DatabaseMaintenanceJobs extends Construct implements QuotaConsumer {
  readonly migration: JobV1;
  readonly cronJobs: readonly CronJobV1[];
  readonly migrationPods: PodGroup;
  readonly maintenancePods: PodGroup;
  readonly peakResources: PeakResources;

  constructor(scope: Construct, id: string, props: DatabaseMaintenanceJobsProps) {
    super(scope, id);
    const { namespace } = props;
    const location = namespace.location;
    const deadline = props.migrationDeadlineSeconds ?? 900;
    const backoffLimit = props.migrationBackoffLimit ?? 2;
    const tasks = props.maintenanceTasks ?? MAINTENANCE_TASKS;
    validate(props, location.id, { deadline, backoffLimit, tasks });

    this.migrationPods = { component: 'migrate', podSelector: selectorLabels(location.id, 'migrate') };
    this.maintenancePods = { component: 'maintenance', podSelector: selectorLabels(location.id, 'maintenance') };
    // One migration plus one run per task at a time (each CronJob forbids overlapping runs).
    this.peakResources = peakOf(1 + tasks.length, [props.resources]);

    const podSpec = (container: { name: string; args: readonly string[]; command: readonly string[]; env: Readonly<Record<string, string>> }) => ({
      serviceAccountName: props.serviceAccount.metadata.name,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // A failed attempt leaves its pod (and logs) behind; the Job starts a new pod per retry.
      restartPolicy: 'Never',
      securityContext: restrictedPodSecurityContext(APP_CONTAINER_UID),
      volume: [tmpVolume()],
      container: [
        {
          name: container.name,
          image: props.image,
          imagePullPolicy: 'IfNotPresent',
          command: [...container.command],
          args: [...container.args],
          env: environmentList(container.env),
          resources: resourceRequirements(props.resources),
          securityContext: restrictedContainerSecurityContext(APP_CONTAINER_UID),
          volumeMount: [tmpVolumeMount()],
        },
      ],
    });

    const migrateLabels = standardLabels(location.id, 'migrate');
    this.migration = new JobV1(this, 'migration', {
      metadata: { name: migrationJobName(props.releaseTag), namespace: namespace.name, labels: migrateLabels },
      spec: {
        backoffLimit,
        activeDeadlineSeconds: deadline,
        // No ttlSecondsAfterFinished: once Kubernetes deletes a finished Job, the provider reads
        // it as gone and the next apply creates it again, re-running the migration on every apply
        // (hashicorp/terraform-provider-kubernetes#2531). The next release's Job replaces this one.
        template: {
          metadata: { labels: migrateLabels },
          spec: podSpec({ name: 'migrate', command: MIGRATION_COMMAND, args: MIGRATION_ARGS, env: props.migrateEnvironment }),
        },
      },
      // The apply fails when the migration fails, and nothing that depends on it rolls out.
      waitForCompletion: true,
      timeouts: { create: `${Math.ceil(deadline / 60) + 2}m`, update: `${Math.ceil(deadline / 60) + 2}m` },
    });

    const maintenanceLabels = standardLabels(location.id, 'maintenance');
    this.cronJobs = tasks.map(
      (task) =>
        new CronJobV1(this, task.name, {
          metadata: { name: task.name, namespace: namespace.name, labels: maintenanceLabels },
          spec: {
            schedule: task.schedule,
            timezone: 'Etc/UTC',
            // A slow run is never overlapped by the next: two concurrent refreshes would only queue
            // on the view's lock, and partition creation is not safe to run twice at once.
            concurrencyPolicy: 'Forbid',
            startingDeadlineSeconds: task.startingDeadlineSeconds,
            successfulJobsHistoryLimit: 3,
            failedJobsHistoryLimit: 3,
            jobTemplate: {
              metadata: { labels: maintenanceLabels },
              spec: {
                backoffLimit: task.backoffLimit,
                activeDeadlineSeconds: task.activeDeadlineSeconds,
                template: {
                  metadata: { labels: maintenanceLabels },
                  spec: podSpec({ name: 'maintenance', command: MAINTENANCE_COMMAND, args: [task.task], env: props.maintenanceEnvironment }),
                },
              },
            },
          },
        }),
    );
  }
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const NAME = /^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/;

function validate(
  props: DatabaseMaintenanceJobsProps,
  locationId: string,
  resolved: { deadline: number; backoffLimit: number; tasks: readonly MaintenanceTask[] },
): void {
  const at = `(location "${locationId}")`;
  if (Token.isUnresolved(props.releaseTag) || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(props.releaseTag) || props.releaseTag === 'latest') {
    throw new Error(`releaseTag must be a pinned image tag known at synth (not a token, not "latest"), got "${props.releaseTag}" ${at}`);
  }
  if (!Number.isInteger(resolved.deadline) || resolved.deadline < 60 || resolved.deadline > 21600) {
    throw new Error(`migrationDeadlineSeconds must be an integer in 60..21600, got ${resolved.deadline} ${at}`);
  }
  if (!Number.isInteger(resolved.backoffLimit) || resolved.backoffLimit < 0 || resolved.backoffLimit > 10) {
    throw new Error(`migrationBackoffLimit must be an integer in 0..10, got ${resolved.backoffLimit} ${at}`);
  }
  const names = new Set<string>();
  resolved.tasks.forEach((task, index) => {
    const field = `maintenanceTasks[${index}]`;
    if (!NAME.test(task.name) || names.has(task.name)) {
      throw new Error(`${field}.name must be a unique DNS label of at most 52 characters (CronJob limit), got "${task.name}" ${at}`);
    }
    names.add(task.name);
    const fields = task.schedule.trim().split(/\s+/);
    if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
      throw new Error(`${field}.schedule must be a five-field cron expression such as "*/15 * * * *", got "${task.schedule}" ${at}`);
    }
    if (!Number.isInteger(task.activeDeadlineSeconds) || task.activeDeadlineSeconds < 1) {
      throw new Error(`${field}.activeDeadlineSeconds must be a positive integer, got ${task.activeDeadlineSeconds} ${at}`);
    }
  });
}
