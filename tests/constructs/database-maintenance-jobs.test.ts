import type { Construct } from 'constructs';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { Testing } from '../../stacks/infra/cdktf';
import { containerEnvironment } from '../../stacks/infra/constructs/container-environment';
import {
  DatabaseMaintenanceJobs,
  type DatabaseMaintenanceJobsProps,
  MAINTENANCE_TASKS,
  migrationJobName,
} from '../../stacks/infra/constructs/database-maintenance-jobs';
import { workloadResources } from '../../stacks/infra/constructs/kubernetes-conventions';
import { LocationNamespace } from '../../stacks/infra/constructs/location-namespace';
import { envOf, resourceNamed, testStack } from '../support/stacks/app-fixtures';
import { type Json, resourcesOfType, synthJson } from '../support/stacks/synth-json';
import { dataFixture, platformFixture, TEST_IMAGE_TAG } from '../support/stacks/stack-outputs';
import { sampleLocation } from '../support/stacks/sample-locations';

const location = sampleLocation('london-shoreditch');
const image = `${platformFixture(location.region).ecrRepositoryUrls.api}:${TEST_IMAGE_TAG}`;

function jobsFor(app: Construct, props: Partial<DatabaseMaintenanceJobsProps> = {}) {
  const stack = testStack(app);
  const namespace = new LocationNamespace(stack, 'namespace', { location });
  const serviceAccount = new ServiceAccountV1(stack, 'sa', { metadata: { name: 'api', namespace: namespace.name } });
  const data = dataFixture(location);
  const jobs = new DatabaseMaintenanceJobs(stack, 'database-jobs', {
    namespace,
    image,
    releaseTag: TEST_IMAGE_TAG,
    migrateEnvironment: containerEnvironment({ role: 'migrate', location, data }),
    maintenanceEnvironment: containerEnvironment({ role: 'maintenance', location, data }),
    serviceAccount,
    resources: workloadResources(location.sizing.api),
    ...props,
  });
  return { jobs, json: synthJson(stack) };
}

describe('DatabaseMaintenanceJobs', () => {
  const app = Testing.app();
  const { json, jobs } = jobsFor(app);
  const migration: Json = Object.values(resourcesOfType(json, 'kubernetes_job_v1'))[0];
  const cron = (name: string): Json => resourceNamed(json, 'kubernetes_cron_job_v1', name);

  test('the migration Job is named per release tag', () => {
    expect(migration.metadata.name).toBe(migrationJobName(TEST_IMAGE_TAG));
    expect(migrationJobName(TEST_IMAGE_TAG)).toMatch(/^migrate-[0-9a-f]{10}$/);
    expect(migrationJobName('v1.8.1')).not.toBe(migrationJobName(TEST_IMAGE_TAG));
    expect(migrationJobName(TEST_IMAGE_TAG)).toBe(migrationJobName(TEST_IMAGE_TAG));
  });

  test('the migration runs `node dist/migrate.js up` from the api image as role migrate', () => {
    const [container] = migration.spec.template.spec.container;
    expect(container.image).toBe(image);
    expect([...container.command, ...container.args]).toEqual(['node', 'dist/migrate.js', 'up']);
    expect(envOf(container).SERVICE_ROLE).toBe('migrate');
  });

  test('the migration is bounded, waited for, and not deleted by a TTL', () => {
    expect(migration.spec).toMatchObject({ backoff_limit: 2, active_deadline_seconds: 900 });
    expect(migration.spec.ttl_seconds_after_finished).toBeUndefined();
    expect(migration.wait_for_completion).toBe(true);
    expect(migration.timeouts).toEqual({ create: '17m', update: '17m' });
    expect(migration.spec.template.spec.restart_policy).toBe('Never');
  });

  test.each(MAINTENANCE_TASKS.map((t) => [t.name, t.schedule, t.task]))('CronJob %s runs at "%s" the task %s', (name, schedule, task) => {
    const job = cron(name);
    expect(job.spec).toMatchObject({
      schedule,
      timezone: 'Etc/UTC',
      concurrency_policy: 'Forbid',
      successful_jobs_history_limit: 3,
      failed_jobs_history_limit: 3,
    });
    expect(job.spec.starting_deadline_seconds).toBeGreaterThan(0);
    const [container] = job.spec.job_template.spec.template.spec.container;
    expect(container.command).toEqual(['node', 'dist/maintenance.js']);
    expect(container.args).toEqual([task]);
    expect(envOf(container).SERVICE_ROLE).toBe('maintenance');
  });

  test('the view refresh runs every 15 minutes and partitions are created daily', () => {
    expect(cron('refresh-daily-revenue').spec.schedule).toBe('*/15 * * * *');
    expect(cron('create-order-partitions').spec.schedule).toMatch(/^\d+ \d+ \* \* \*$/);
    // A refresh must end before the next one is due.
    expect(cron('refresh-daily-revenue').spec.job_template.spec.active_deadline_seconds).toBeLessThan(15 * 60);
  });

  test('every job pod is restricted, limited and uses the IRSA service account without token', () => {
    const cronJobs = Object.values(resourcesOfType(json, 'kubernetes_cron_job_v1'));
    expect(cronJobs).toHaveLength(jobs.cronJobs.length);
    const specs = [migration.spec.template.spec, ...cronJobs.map((c: Json) => c.spec.job_template.spec.template.spec)];
    for (const spec of specs) {
      expect(spec.automount_service_account_token).toBe(false);
      expect(spec.service_account_name).toMatch(/kubernetes_service_account_v1\.sa/);
      expect(spec.security_context).toMatchObject({ run_as_non_root: true, seccomp_profile: { type: 'RuntimeDefault' } });
      const [container] = spec.container;
      expect(container.resources.limits).toEqual({ cpu: `${location.sizing.api.cpuLimitMillicores}m`, memory: `${location.sizing.api.memoryLimitMiB}Mi` });
      expect(container.security_context).toMatchObject({ read_only_root_filesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  test('peak quota use: one migration and one run per task', () => {
    expect(jobs.peakResources.pods).toBe(1 + MAINTENANCE_TASKS.length);
  });

  test('fails when the release tag is latest', () => {
    expect(() => jobsFor(app, { releaseTag: 'latest' })).toThrow(
      'releaseTag must be a pinned image tag known at synth (not a token, not "latest"), got "latest" (location "london-shoreditch")',
    );
  });

  test('fails when a schedule is not a five-field cron expression', () => {
    expect(() => jobsFor(app, { maintenanceTasks: [{ ...MAINTENANCE_TASKS[0]!, schedule: '@hourly' }] })).toThrow(
      'maintenanceTasks[0].schedule must be a five-field cron expression such as "*/15 * * * *", got "@hourly" (location "london-shoreditch")',
    );
  });

  test('fails when two tasks share a name', () => {
    expect(() => jobsFor(app, { maintenanceTasks: [MAINTENANCE_TASKS[0]!, MAINTENANCE_TASKS[0]!] })).toThrow(
      'maintenanceTasks[1].name must be a unique DNS label of at most 52 characters (CronJob limit), got "refresh-daily-revenue" (location "london-shoreditch")',
    );
  });

  test('fails when the migration deadline is too short', () => {
    expect(() => jobsFor(app, { migrationDeadlineSeconds: 30 })).toThrow(
      'migrationDeadlineSeconds must be an integer in 60..21600, got 30 (location "london-shoreditch")',
    );
  });
});
