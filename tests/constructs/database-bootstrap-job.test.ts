import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Construct } from 'constructs';
import { APP_SERVICE_ACCOUNT_NAME, DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME } from '../../contract/constants';
import { configSchema } from '../../contract/environment';
import { Testing } from '../../stacks/infra/cdktf';
import { containerEnvironment } from '../../stacks/infra/constructs/container-environment';
import {
  DATABASE_BOOTSTRAP_RESOURCES,
  databaseBootstrapJobName,
  DatabaseBootstrapJob,
  type DatabaseBootstrapJobProps,
} from '../../stacks/infra/constructs/database-bootstrap-job';
import { migrationJobName } from '../../stacks/infra/constructs/database-maintenance-jobs';
import { LocationNamespace } from '../../stacks/infra/constructs/location-namespace';
import { envOf, testStack } from '../support/stacks/app-fixtures';
import { type Json, resourcesOfType, synthJson } from '../support/stacks/synth-json';
import { dataFixture, platformFixture, TEST_IMAGE_TAG } from '../support/stacks/stack-outputs';
import { sampleLocation } from '../support/stacks/sample-locations';

const location = sampleLocation('london-shoreditch');
const data = dataFixture(location);
const image = `${platformFixture(location.region).ecrRepositoryUrls.api}:${TEST_IMAGE_TAG}`;

function bootstrapFor(app: Construct, props: Partial<DatabaseBootstrapJobProps> = {}) {
  const stack = testStack(app);
  const namespace = new LocationNamespace(stack, 'namespace', { location });
  const bootstrap = new DatabaseBootstrapJob(stack, 'database-bootstrap', {
    namespace,
    image,
    releaseTag: TEST_IMAGE_TAG,
    environment: containerEnvironment({ role: 'db-bootstrap', location, data }),
    roleArn: data.databaseBootstrapRoleArn,
    ...props,
  });
  return { bootstrap, json: synthJson(stack) };
}

describe('DatabaseBootstrapJob', () => {
  const app = Testing.app();
  const { json, bootstrap } = bootstrapFor(app);
  const job: Json = Object.values(resourcesOfType(json, 'kubernetes_job_v1'))[0];
  const podSpec: Json = job.spec.template.spec;
  const [container] = podSpec.container;

  describe('defaults', () => {
    test('named per release tag, by the migration Job recipe', () => {
      expect(job.metadata.name).toBe(databaseBootstrapJobName(TEST_IMAGE_TAG));
      expect(databaseBootstrapJobName(TEST_IMAGE_TAG)).toBe(migrationJobName(TEST_IMAGE_TAG).replace(/^migrate-/, 'db-bootstrap-'));
      expect(databaseBootstrapJobName('v1.8.1')).not.toBe(databaseBootstrapJobName(TEST_IMAGE_TAG));
    });

    test('bounded (300 s, 2 retries), waited for, never deleted by a TTL', () => {
      expect(job.spec).toMatchObject({ backoff_limit: 2, active_deadline_seconds: 300 });
      expect(job.spec.ttl_seconds_after_finished).toBeUndefined();
      expect(job.wait_for_completion).toBe(true);
      expect(job.timeouts).toEqual({ create: '7m', update: '7m' });
      expect(podSpec.restart_policy).toBe('Never');
    });

    test('small resources of its own, one pod at peak', () => {
      expect(container.resources).toEqual({
        requests: { cpu: `${DATABASE_BOOTSTRAP_RESOURCES.cpuRequestMillicores}m`, memory: `${DATABASE_BOOTSTRAP_RESOURCES.memoryRequestMiB}Mi` },
        limits: { cpu: `${DATABASE_BOOTSTRAP_RESOURCES.cpuLimitMillicores}m`, memory: `${DATABASE_BOOTSTRAP_RESOURCES.memoryLimitMiB}Mi` },
      });
      expect(bootstrap.peakResources).toEqual({ pods: 1, ...DATABASE_BOOTSTRAP_RESOURCES });
    });
  });

  describe('behaviour', () => {
    test('runs `node dist/db-bootstrap-main.js` from the api image as role db-bootstrap, told the master secret', () => {
      expect(container.image).toBe(image);
      expect(container.command).toEqual(['node', 'dist/db-bootstrap-main.js']);
      // app/build.ts bundles every app/src/*-main.ts to dist/ under its own name.
      expect(fs.existsSync(path.join(__dirname, '../../app/src/db-bootstrap-main.ts'))).toBe(true);
      expect(container.args).toBeUndefined();
      const env = envOf(container);
      expect(env).toMatchObject({ SERVICE_ROLE: 'db-bootstrap', DATABASE_USER: data.database.appUser, DATABASE_MASTER_SECRET_ARN: data.database.masterSecretArn });
      expect(configSchema.strict().safeParse(env).error?.issues ?? []).toEqual([]);
    });

    test('its own service account carries the bootstrap IRSA role; never the app account', () => {
      const accounts = Object.values(resourcesOfType(json, 'kubernetes_service_account_v1'));
      expect(accounts).toHaveLength(1);
      const [account] = accounts as Json[];
      expect(account.metadata.name).toBe(DATABASE_BOOTSTRAP_SERVICE_ACCOUNT_NAME);
      expect(account.metadata.name).not.toBe(APP_SERVICE_ACCOUNT_NAME);
      expect(account.metadata.annotations).toEqual({ 'eks.amazonaws.com/role-arn': data.databaseBootstrapRoleArn });
      expect(account.automount_service_account_token).toBe(false);
      expect(podSpec.service_account_name).toBe(`\${kubernetes_service_account_v1.${Object.keys(resourcesOfType(json, 'kubernetes_service_account_v1'))[0]}.metadata[0].name}`);
      expect(podSpec.automount_service_account_token).toBe(false);
    });

    test('restricted like every pod of the namespace', () => {
      expect(podSpec.security_context).toMatchObject({ run_as_non_root: true, seccomp_profile: { type: 'RuntimeDefault' } });
      expect(container.security_context).toMatchObject({ read_only_root_filesystem: true, allow_privilege_escalation: false, capabilities: { drop: ['ALL'] } });
      expect(podSpec.enable_service_links).toBe(false);
    });

    test('its pods carry the component label the NetworkPolicies select', () => {
      expect(bootstrap.pods).toEqual({
        component: 'db-bootstrap',
        podSelector: { 'app.kubernetes.io/name': 'order-api', 'app.kubernetes.io/instance': location.id, 'app.kubernetes.io/component': 'db-bootstrap' },
      });
      expect(job.spec.template.metadata.labels).toMatchObject(bootstrap.pods.podSelector);
    });

    test('the deadline can be raised', () => {
      const { json: other } = bootstrapFor(app, { deadlineSeconds: 900 });
      const raised: Json = Object.values(resourcesOfType(other, 'kubernetes_job_v1'))[0];
      expect(raised.spec.active_deadline_seconds).toBe(900);
      expect(raised.timeouts).toEqual({ create: '17m', update: '17m' });
    });
  });

  describe('errors', () => {
    test('fails when the release tag is latest', () => {
      expect(() => bootstrapFor(app, { releaseTag: 'latest' })).toThrow(
        'releaseTag must be a pinned image tag known at synth (not a token, not "latest"), got "latest" (location "london-shoreditch")',
      );
    });

    test('fails when the environment is not the bootstrap role', () => {
      expect(() => bootstrapFor(app, { environment: containerEnvironment({ role: 'migrate', location, data }) })).toThrow(
        'environment must be the containerEnvironment of role "db-bootstrap", got SERVICE_ROLE "migrate" (location "london-shoreditch")',
      );
    });

    test('fails when the deadline is outside 60..3600', () => {
      expect(() => bootstrapFor(app, { deadlineSeconds: 30 })).toThrow('deadlineSeconds must be an integer in 60..3600, got 30 (location "london-shoreditch")');
    });

    test('fails when backoffLimit is negative', () => {
      expect(() => bootstrapFor(app, { backoffLimit: -1 })).toThrow('backoffLimit must be an integer in 0..10, got -1 (location "london-shoreditch")');
    });
  });
});
