/**
 * Cross-stack wiring, checked on the JSON of a full synth (as `cdktf deploy` sees it): every value
 * a stack reads from another one exists there as an output and points at the right resource.
 */
import * as fs from 'node:fs';
import { expressionsIn, resourcesOf, synthPlatform, type StackJson } from '../../tools/synth/synth-platform';

const REMOTE_OUTPUT = /data\.terraform_remote_state\.cross-stack-reference-input-([a-z0-9-]+)\.outputs\.([A-Za-z0-9_-]+)/g;

const { built, stacks, outdir } = synthPlatform();
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const stack = (id: string): StackJson => {
  const json = stacks.get(id);
  if (!json) throw new Error(`stack ${id} was not synthesized; have: ${[...stacks.keys()].join(', ')}`);
  return json;
};

/** The upstream expression (`${aws_x.y.attr}`) behind a remote-state read in a downstream value. */
function upstreamValueOf(expression: string): string[] {
  return [...expression.matchAll(REMOTE_OUTPUT)].map(([, upstream, output]) => stack(upstream!).output?.[output!]?.value);
}

function envOf(app: StackJson, deployment: 'api' | 'ws'): Record<string, string> {
  const [dep] = Object.values(resourcesOf(app, 'kubernetes_deployment_v1')).filter((d) => d.metadata.name === deployment);
  const env = dep!.spec.template.spec.container[0].env as { name: string; value: string }[];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

describe('stacks of the sample locations', () => {
  test('are the platform and addons of each region and the data and app stacks of each location', () => {
    expect([...stacks.keys()]).toEqual([
      'addons-ap-southeast-1', 'addons-eu-west-2',
      'kanchanaburi-resort-app', 'kanchanaburi-resort-data',
      'london-shoreditch-app', 'london-shoreditch-data',
      'platform-ap-southeast-1', 'platform-eu-west-2',
      'sukhumvit-cafe-app', 'sukhumvit-cafe-data',
    ]);
  });

  test.each([...stacks.keys()])('%s reads only outputs its upstream stacks define, from their state files', (id) => {
    const json = stack(id);
    for (const expression of expressionsIn(json)) {
      for (const [, upstream, output] of expression.matchAll(REMOTE_OUTPUT)) {
        expect(stacks.has(upstream!)).toBe(true);
        expect(Object.keys(stack(upstream!).output ?? {})).toContain(output);
      }
    }
    for (const [name, remote] of Object.entries((json.data?.terraform_remote_state ?? {}) as Record<string, StackJson>)) {
      const upstream = name.replace('cross-stack-reference-input-', '');
      expect(remote.backend).toBe('s3');
      expect(remote.config.key).toBe(stack(upstream).terraform.backend.s3.key);
    }
  });

  test('every stack keeps its state in its own S3 object, locked with a lock file', () => {
    const keys = [...stacks.entries()].map(([id, json]) => {
      expect(json.terraform.backend.s3).toMatchObject({ bucket: 'banrimkwae-platform-tfstate', encrypt: true, use_lockfile: true });
      expect(json.terraform.backend.s3.key).toBe(`restaurant-platform/${id}/terraform.tfstate`);
      return json.terraform.backend.s3.key;
    });
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe.each([...built.locations.values()].map((l) => [l.location.id, l.location] as const))('location %s', (id, location) => {
  const app = stack(`${id}-app`);
  const data = stack(`${id}-data`);
  const platformId = `platform-${location.region}`;

  test('the api reaches the primary database by its address', () => {
    const [value] = upstreamValueOf(envOf(app, 'api').DATABASE_PRIMARY_HOST!);
    const primary = /^\$\{aws_db_instance\.([^.]+)\.address\}$/.exec(value ?? '');
    expect(primary).not.toBeNull();
    expect(resourcesOf(data, 'aws_db_instance')[primary![1]!]!.replicate_source_db).toBeUndefined();
  });

  test(`the api gets one replica host per read replica (${location.sizing.database.readReplicas})`, () => {
    const hosts = upstreamValueOf(envOf(app, 'api').DATABASE_REPLICA_HOSTS ?? '');
    expect(hosts).toHaveLength(location.sizing.database.readReplicas);
    const replicas = new Set(hosts.map((h) => /^\$\{aws_db_instance\.([^.]+)\.address\}$/.exec(h)![1]));
    expect(replicas.size).toBe(location.sizing.database.readReplicas);
    for (const name of replicas) expect(resourcesOf(data, 'aws_db_instance')[name!]!.replicate_source_db).toBeDefined();
  });

  test('api and ws reach Redis through the replication group endpoint', () => {
    for (const role of ['api', 'ws'] as const) {
      expect(upstreamValueOf(envOf(app, role).REDIS_HOST!)[0]).toMatch(/^\$\{aws_elasticache_replication_group\.[^.]+\.primary_endpoint_address\}$/);
    }
  });

  test('the service account assumes the data stack app role', () => {
    const [account] = Object.values(resourcesOf(app, 'kubernetes_service_account_v1')).filter((a) => a.metadata.name === 'api');
    const arn = account!.metadata.annotations['eks.amazonaws.com/role-arn'] as string;
    expect(upstreamValueOf(arn)[0]).toMatch(/^\$\{aws_iam_role\.[^.]+\.arn\}$/);
  });

  test("the nginx NLB terminates TLS with the data stack's API certificate, once it is issued", () => {
    const [service] = Object.values(resourcesOf(app, 'kubernetes_service_v1')).filter((s) => s.metadata.name === 'nginx');
    const arn = service!.metadata.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-cert'] as string;
    const validation = /^\$\{aws_acm_certificate_validation\.([^.]+)\.certificate_arn\}$/.exec(upstreamValueOf(arn)[0] ?? '');
    expect(validation).not.toBeNull();
    const validated = resourcesOf(data, 'aws_acm_certificate_validation')[validation![1]!]!.certificate_arn as string;
    const certificate = /^\$\{aws_acm_certificate\.([^.]+)\.arn\}$/.exec(validated);
    expect(certificate).not.toBeNull();
    const acm = resourcesOf(data, 'aws_acm_certificate')[certificate![1]!]!;
    expect(acm.domain_name).toBe(location.domains.api);
    // The default provider, in the location's region: where the NLB is.
    expect(acm.provider).toBeUndefined();
    expect(data.provider.aws.filter((p: StackJson) => p.alias === undefined).map((p: StackJson) => p.region)).toEqual([location.region]);
  });

  test('the kubernetes provider targets the region cluster', () => {
    const [provider] = app.provider.kubernetes;
    expect(provider.host).toContain(`cross-stack-reference-input-${platformId}`);
    expect(upstreamValueOf(provider.host)[0]).toMatch(/^\$\{aws_eks_cluster\.[^.]+\.endpoint\}$/);
  });

  test("nginx and its exporter are pulled through the region's ECR pull-through cache of ECR Public", () => {
    const [nginx] = Object.values(resourcesOf(app, 'kubernetes_deployment_v1')).filter((d) => d.metadata.name === 'nginx');
    const images = (nginx!.spec.template.spec.container as { image: string }[]).map((c) => c.image);
    const remote = `\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${platformId}\\.outputs\\.[\\w-]+\\}`;
    ['nginx/nginx-unprivileged:1.28.0-alpine', 'nginx/nginx-prometheus-exporter:1.4.2'].forEach((repository, i) => {
      // <account from the platform>.dkr.ecr.<region>.amazonaws.com/<prefix from the platform>/<repository>:<tag>
      expect(images[i]).toMatch(new RegExp(`^${remote}\\.dkr\\.ecr\\.${location.region}\\.amazonaws\\.com/${remote}/${repository}$`));
      const [account, prefix] = upstreamValueOf(images[i]!);
      const rule = /^\$\{aws_ecr_pull_through_cache_rule\.([\w-]+)\.registry_id\}$/.exec(account ?? '')?.[1];
      expect(prefix).toBe(`\${aws_ecr_pull_through_cache_rule.${rule}.ecr_repository_prefix}`);
      expect(resourcesOf(stack(platformId), 'aws_ecr_pull_through_cache_rule')[rule!]).toMatchObject({ ecr_repository_prefix: 'ecr-public', upstream_registry_url: 'public.ecr.aws' });
    });
  });

  test('the database admits only the cluster security group', () => {
    const rules = Object.values(resourcesOf(data, 'aws_vpc_security_group_ingress_rule'))
      .concat(Object.values(resourcesOf(data, 'aws_security_group_rule')).filter((r) => r.type === 'ingress'))
      .filter((r) => (r.from_port ?? r.fromPort) === 5432);
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      const source = rule.referenced_security_group_id ?? rule.source_security_group_id;
      expect(upstreamValueOf(source)[0]).toMatch(/^\$\{aws_eks_cluster\.[^.]+\.vpc_config\[0\]\.cluster_security_group_id\}$/);
      expect(rule.cidr_ipv4 ?? rule.cidr_blocks).toBeUndefined();
    }
  });
});

describe('the local backend switch (TF_BACKEND=local)', () => {
  const local = synthPlatform({ TF_BACKEND: 'local' });
  afterAll(() => fs.rmSync(local.outdir, { recursive: true, force: true }));

  test('keeps every state file local and reads upstream outputs from local state', () => {
    for (const [id, json] of local.stacks) {
      expect(json.terraform.backend).toEqual({ local: { path: `../../../.tfstate/${id}.tfstate` } });
      for (const [name, remote] of Object.entries((json.data?.terraform_remote_state ?? {}) as Record<string, StackJson>)) {
        const upstream = name.replace('cross-stack-reference-input-', '');
        expect(remote.backend).toBe('local');
        // Both stacks run in sibling folders, so the same relative path is the same file.
        expect(remote.config.path).toBe(local.stacks.get(upstream)!.terraform.backend.local.path);
      }
    }
  });
});

describe('DNS from the hosted zones of platform.yaml', () => {
  const zones = new Map([
    ['banrimkwae.com', 'Z0417528Q1F6N7WYXB2KE'],
    ['banrimkwae.co.uk', 'Z06157202RJ6XSE1CZ4QA'],
  ]);

  test.each([
    ['sukhumvit-cafe', 'banrimkwae.com'],
    ['kanchanaburi-resort', 'banrimkwae.com'],
    ['london-shoreditch', 'banrimkwae.co.uk'],
  ])('%s: both certificates validate through records in the %s zone, and the CDN name is an alias', (id, domain) => {
    const records = Object.values(resourcesOf(stack(`${id}-data`), 'aws_route53_record'));
    expect(records.map((r) => r.zone_id)).toEqual(Array(4).fill(zones.get(domain)));
    expect(records.filter((r) => r.for_each)).toHaveLength(2);
    const location = built.locations.get(id)!.location;
    expect(records.filter((r) => r.alias).map((r) => [r.name, r.type])).toEqual([
      [location.domains.cdn, 'A'],
      [location.domains.cdn, 'AAAA'],
    ]);
    for (const validation of Object.values(resourcesOf(stack(`${id}-data`), 'aws_acm_certificate_validation'))) {
      expect(validation.validation_record_fqdns).toMatch(/^\$\{\[ for key, val in aws_route53_record\.[\w-]+: val\.fqdn\]\}$/);
    }
  });

  test.each([
    ['ap-southeast-1', ['banrimkwae.com']],
    ['eu-west-2', ['banrimkwae.co.uk']],
  ])('%s: ExternalDNS may change exactly the zones of its API names, with the role the platform made', (region, domains) => {
    const platform = built.platforms.get(region)!;
    expect(platform.externalDnsRole?.hostedZones.map((z) => z.domain)).toEqual(domains);
    const [release] = Object.values(resourcesOf(stack(`addons-${region}`), 'helm_release')).filter((r) => r.name === 'external-dns');
    const roleArn = (release!.set as { name: string; value: string }[]).find((s) => s.name.endsWith('role-arn'))!.value;
    expect(upstreamValueOf(roleArn)).toEqual([`\${${platform.externalDnsRole!.role.terraformResourceType}.${platform.externalDnsRole!.role.friendlyUniqueId}.arn}`]);
    expect(release!.values[1]).toContain(`--zone-id-filter=${zones.get(domains[0]!)}`);
  });

  test.each(['sukhumvit-cafe', 'kanchanaburi-resort', 'london-shoreditch'])('%s: the nginx Service asks ExternalDNS for its API name', (id) => {
    const [service] = Object.values(resourcesOf(stack(`${id}-app`), 'kubernetes_service_v1')).filter((s) => s.metadata.name === 'nginx');
    expect(service!.metadata.annotations['external-dns.alpha.kubernetes.io/hostname']).toBe(built.locations.get(id)!.location.domains.api);
  });
});
