/**
 * Reading the app stack's synthesized workloads in tests: a resource by name, and every container
 * of every workload (Deployments, Jobs, CronJobs) with where it came from; and the parts the app
 * stack wires, built the same way.
 */
import { Construct } from 'constructs';
import { ServiceAccountV1 } from '@cdktf/provider-kubernetes/lib/service-account-v1';
import { TerraformStack } from '../../../stacks/infra/cdktf';
import type { Location } from '../../../stacks/infra/config/location';
import { containerEnvironment } from '../../../stacks/infra/constructs/container-environment';
import { HttpWorkload, type HttpWorkloadProps } from '../../../stacks/infra/constructs/http-workload';
import { LocationNamespace } from '../../../stacks/infra/constructs/location-namespace';
import { dataFixture, platformFixture, TEST_IMAGE_TAG } from './stack-outputs';
import { type Json, resourcesOfType } from './synth-json';

/** The one resource of `type` whose `metadata.name` is `name`. */
export function resourceNamed(json: Json, type: string, name: string): Json {
  const matches = Object.values(resourcesOfType(json, type)).filter((r: Json) => r.metadata?.name === name);
  if (matches.length !== 1) throw new Error(`expected one ${type} named "${name}", found ${matches.length}`);
  return matches[0];
}

export interface FoundContainer {
  readonly workload: string;
  readonly kind: 'Deployment' | 'Job' | 'CronJob';
  readonly podSpec: Json;
  readonly container: Json;
}

/** Every container of every pod template in the synthesized stack. */
export function allContainers(json: Json): FoundContainer[] {
  const found: FoundContainer[] = [];
  const add = (kind: FoundContainer['kind'], workload: string, podSpec: Json) => {
    for (const container of podSpec.container ?? []) found.push({ kind, workload, podSpec, container });
  };
  for (const d of Object.values(resourcesOfType(json, 'kubernetes_deployment_v1'))) add('Deployment', d.metadata.name, d.spec.template.spec);
  for (const j of Object.values(resourcesOfType(json, 'kubernetes_job_v1'))) add('Job', j.metadata.name, j.spec.template.spec);
  for (const c of Object.values(resourcesOfType(json, 'kubernetes_cron_job_v1'))) {
    add('CronJob', c.metadata.name, c.spec.job_template.spec.template.spec);
  }
  return found;
}

export function envOf(container: Json): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e: Json) => [e.name, e.value]));
}

/** Replaces cdktf token markers (unresolved cross-stack values) with a plausible literal. */
export function replaceTokens(value: string, literal: string): string {
  return value.replace(/\$\{TfToken\[[^\]]+\]\}/g, literal);
}

/** A bare stack to hold the construct under test (one per test, in the describe's App). */
let stackCount = 0;
export function testStack(app: Construct): TerraformStack {
  stackCount += 1;
  return new TerraformStack(app, `construct-test-${stackCount}`);
}

export interface Parts {
  readonly stack: TerraformStack;
  readonly namespace: LocationNamespace;
  readonly serviceAccount: ServiceAccountV1;
  readonly api: HttpWorkload;
  readonly ws: HttpWorkload;
}

/** Namespace, service account and the two HTTP workloads, as the app stack wires them. */
export function buildParts(app: Construct, location: Location, overrides: Partial<Record<'api' | 'ws', Partial<HttpWorkloadProps>>> = {}): Parts {
  const stack = testStack(app);
  const namespace = new LocationNamespace(stack, 'namespace', { location });
  const serviceAccount = new ServiceAccountV1(stack, 'sa', { metadata: { name: 'api', namespace: namespace.name } });
  const platform = platformFixture(location.region);
  const data = dataFixture(location);
  const workload = (component: 'api' | 'ws', grace: number) =>
    new HttpWorkload(stack, component, {
      namespace,
      component,
      image: `${platform.ecrRepositoryUrls[component]}:${TEST_IMAGE_TAG}`,
      sizing: location.sizing[component],
      environment: containerEnvironment({ role: component, location, data, shutdownGraceMs: (grace - 15 - 5) * 1000 }),
      serviceAccount,
      terminationGracePeriodSeconds: grace,
      preStopSleepSeconds: 15,
      ...overrides[component],
    });
  return { stack, namespace, serviceAccount, api: workload('api', 45), ws: workload('ws', 60) };
}
