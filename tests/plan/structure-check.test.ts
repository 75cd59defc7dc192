/**
 * The structure check: stacks whose providers cannot be installed here (kubernetes, helm) are
 * validated by real Terraform as a copy with `terraform_data` stand-ins. Unit tests of the
 * rewrite, then real Terraform on every synthesized stack of the sample locations and of a newly
 * onboarded one, and on broken stacks that must fail naming the resource. Without Terraform the
 * Terraform tests fail with the install hint (findTerraform), never pass.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addLocation } from '../../stacks/cli/location-add';
import { rewriteMetaArgument, rewriteTemplate, type ReferenceRewriter } from '../../stacks/checks/plan/expression-references';
import { runPlans, type StackPlan } from '../../stacks/checks/plan/plan-runner';
import { findMirroredProviders, mirrorDirsFromEnvironment } from '../../stacks/checks/plan/provider-installation';
import { structureCheckConfig, StructureCheckError, type StructureCheckInput } from '../../stacks/checks/plan/structure-check';
import { findTerraform } from '../../stacks/checks/plan/terraform-cli';
import { loadSynthInputs } from '../../stacks/synth-options';
import { stackJsonPath, synthesize, type StackSummary } from '../../stacks/synthesize';
import { SAMPLE_LOCATIONS_DIR, synthPlatform, type StackJson } from '../../tools/synth/synth-platform';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'structure-check-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const KUBERNETES = { kubernetes: { source: 'kubernetes', version: '2.38.0' } };
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * A small kubernetes stack using every feature the rewrite handles: an aliased provider,
 * variables (one ephemeral), locals, remote state, a data source of the provider, count,
 * for_each, a dynamic block, every lifecycle argument, and an output with depends_on.
 */
const FEATURES: StackJson = {
  terraform: {
    required_providers: KUBERNETES,
    backend: { s3: { bucket: 'b', key: 'features/terraform.tfstate', region: 'ap-southeast-1' } },
  },
  provider: {
    kubernetes: [{ host: '${data.terraform_remote_state.platform.outputs.endpoint}' }, { alias: 'west', host: '${var.west_host}' }],
  },
  variable: {
    west_host: { type: 'string', default: 'https://west.example' },
    token: { type: 'string', ephemeral: true, default: 'not-a-secret' },
  },
  locals: { labels: { team: '${var.west_host}' }, ns: '${kubernetes_namespace_v1.ns.metadata[0].name}' },
  data: {
    terraform_remote_state: { platform: { backend: 's3', config: { bucket: 'b', key: 'platform/terraform.tfstate', region: 'ap-southeast-1' } } },
    kubernetes_config_map_v1: { settings: { metadata: { name: 'settings', namespace: '${local.ns}' } } },
  },
  resource: {
    kubernetes_namespace_v1: { ns: { metadata: { name: 'cafe', labels: '${local.labels}' } } },
    kubernetes_secret_v1: {
      token: { provider: 'kubernetes.west', metadata: { name: 'token', namespace: '${kubernetes_namespace_v1.ns.metadata[0].name}' }, data_wo: { token: '${var.token}' } },
    },
    kubernetes_config_map_v1: {
      per_zone: { count: 2, metadata: { name: 'zone-${count.index}', namespace: '${local.ns}' }, data: { from: '${data.kubernetes_config_map_v1.settings.data.x}' } },
    },
    kubernetes_service_v1: {
      by_port: {
        for_each: { http: 80, https: 443 },
        metadata: { name: '${each.key}' },
        spec: { dynamic: { port: { for_each: '${[each.value]}', iterator: 'p', content: { port: '${p.value}' } } } },
      },
    },
    kubernetes_deployment_v1: {
      api: {
        depends_on: ['kubernetes_config_map_v1.per_zone', 'data.kubernetes_config_map_v1.settings'],
        lifecycle: {
          create_before_destroy: true,
          ignore_changes: ['spec[0].replicas'],
          replace_triggered_by: ['kubernetes_config_map_v1.per_zone[0]'],
          postcondition: [{ condition: '${self.metadata[0].name != ""}', error_message: 'the deployment has a name' }],
        },
        metadata: { name: 'api', namespace: '${kubernetes_namespace_v1.ns.metadata[0].name}' },
        spec: {
          template: {
            spec: {
              container: [
                {
                  env: [
                    { name: 'ZONE0', value: '${kubernetes_config_map_v1.per_zone[0].metadata[0].name}' },
                    { name: 'ALL', value: '${join(",", kubernetes_config_map_v1.per_zone[*].metadata[0].name)}' },
                    { name: 'HTTP', value: '${kubernetes_service_v1.by_port["http"].metadata[0].name}' },
                  ],
                },
              ],
            },
          },
        },
      },
    },
  },
  output: { namespace: { value: '${kubernetes_namespace_v1.ns.metadata[0].name}', depends_on: ['kubernetes_deployment_v1.api'] } },
};

describe('references in expressions', () => {
  // Moves `k8s_a.x` onto a stand-in; everything else stays.
  const onto: ReferenceRewriter = ({ root, steps }) => (root === 'k8s_a' && steps[0] === '.x' ? `terraform_data.k8s_a__x${steps.slice(1).join('')}` : undefined);

  test.each([
    ['${k8s_a.x.metadata[0].name}', '${terraform_data.k8s_a__x.metadata[0].name}'],
    ['pre-${k8s_a.x.id}-post', 'pre-${terraform_data.k8s_a__x.id}-post'],
    ['${upper(k8s_a.x.name)}', '${upper(terraform_data.k8s_a__x.name)}'],
    ['${"a-${k8s_a.x.n}"}', '${"a-${terraform_data.k8s_a__x.n}"}'],
    ['${k8s_a.x[k8s_a.x.i].v}', '${terraform_data.k8s_a__x[terraform_data.k8s_a__x.i].v}'],
    ['${[for v in k8s_a.x[*].n : v.k8s_a]}', '${[for v in terraform_data.k8s_a__x[*].n : v.k8s_a]}'],
    ['%{ for v in k8s_a.x.list }${v}%{ endfor }', '%{ for v in terraform_data.k8s_a__x.list }${v}%{ endfor }'],
    ['${jsonencode({"a" = k8s_a.x.b, "k" = "}"})}', '${jsonencode({"a" = terraform_data.k8s_a__x.b, "k" = "}"})}'],
    ['${1 - k8s_a.x.y}', '${1 - terraform_data.k8s_a__x.y}'],
  ])('%s becomes %s', (template, expected) => {
    expect(rewriteTemplate(template, onto)).toBe(expected);
  });

  test.each([
    ['$${k8s_a.x.id}', 'an escaped interpolation is literal text'],
    ['k8s_a.x.id', 'text outside an interpolation is literal'],
    ['${foo.k8s_a.x}', 'an attribute named like a resource type is not a reference'],
    ['${x-k8s_a.x.y}', 'a dash continues an identifier (x-k8s_a is one name)'],
    ['${data.k8s_a.x.id}', 'a data source is not the resource of the same name'],
  ])('%s stays as written: %s', (template) => {
    expect(rewriteTemplate(template, onto)).toBe(template);
  });

  test('meta-arguments keep the form they were written in', () => {
    expect(rewriteMetaArgument('k8s_a.x', onto)).toBe('terraform_data.k8s_a__x');
    expect(rewriteMetaArgument('${k8s_a.x}', onto)).toBe('${terraform_data.k8s_a__x}');
  });
});

describe('the structure-check rewrite', () => {
  const { config, standIns, replacedBlocks } = structureCheckConfig(clone(FEATURES) as StructureCheckInput, new Set(['kubernetes']));
  const standIn = (name: string) => (config.resource as StackJson).terraform_data[name] as StackJson;

  test('turns every block of an unavailable provider into a terraform_data stand-in named <type>__<name>', () => {
    expect(Object.keys((config.resource as StackJson))).toEqual(['terraform_data']);
    expect(Object.keys((config.data as StackJson))).toEqual(['terraform_remote_state']);
    expect(replacedBlocks).toBe(6);
    expect(Object.fromEntries(standIns)).toEqual({
      kubernetes_namespace_v1__ns: 'kubernetes_namespace_v1.ns',
      kubernetes_secret_v1__token: 'kubernetes_secret_v1.token',
      kubernetes_config_map_v1__per_zone: 'kubernetes_config_map_v1.per_zone',
      kubernetes_service_v1__by_port: 'kubernetes_service_v1.by_port',
      kubernetes_deployment_v1__api: 'kubernetes_deployment_v1.api',
      data__kubernetes_config_map_v1__settings: 'data.kubernetes_config_map_v1.settings',
      provider__kubernetes: 'provider.kubernetes',
      provider__kubernetes__west: 'provider.kubernetes.west',
    });
  });

  test('keeps count, for_each, depends_on (onto stand-ins) and lifecycle', () => {
    expect(standIn('kubernetes_config_map_v1__per_zone').count).toBe(2);
    expect(standIn('kubernetes_service_v1__by_port').for_each).toEqual({ http: 80, https: 443 });
    const api = standIn('kubernetes_deployment_v1__api');
    expect(api.depends_on).toEqual(['terraform_data.kubernetes_config_map_v1__per_zone', 'terraform_data.data__kubernetes_config_map_v1__settings']);
    expect(api.lifecycle).toEqual({
      create_before_destroy: true,
      // Onto `input` (dynamic): Terraform still judges the entry's form, not the attribute name.
      ignore_changes: ['input.spec[0].replicas'],
      replace_triggered_by: ['terraform_data.kubernetes_config_map_v1__per_zone[0]'],
      postcondition: [{ condition: '${self.output.metadata[0].name != ""}', error_message: 'the deployment has a name' }],
    });
  });

  test('keeps an interpolated depends_on interpolated, so it fails as the original would', () => {
    const stack = clone(FEATURES);
    stack.resource.kubernetes_deployment_v1.api.depends_on = ['${kubernetes_config_map_v1.per_zone}'];
    const rewritten = structureCheckConfig(stack as StructureCheckInput, new Set(['kubernetes'])).config as StackJson;
    expect(rewritten.resource.terraform_data.kubernetes_deployment_v1__api.depends_on).toEqual(['${terraform_data.kubernetes_config_map_v1__per_zone}']);
  });

  test('carries every expression of the body in input, references onto stand-in outputs after their instance keys', () => {
    expect(standIn('kubernetes_deployment_v1__api').input).toEqual([
      '${terraform_data.kubernetes_namespace_v1__ns.output.metadata[0].name}',
      '${terraform_data.kubernetes_config_map_v1__per_zone[0].output.metadata[0].name}',
      '${join(",", terraform_data.kubernetes_config_map_v1__per_zone[*].output.metadata[0].name)}',
      '${terraform_data.kubernetes_service_v1__by_port["http"].output.metadata[0].name}',
    ]);
    expect(standIn('kubernetes_config_map_v1__per_zone').input).toEqual([
      'zone-${count.index}',
      '${ephemeralasnull(local.ns)}',
      '${terraform_data.data__kubernetes_config_map_v1__settings.output.data.x}',
    ]);
  });

  test('passes kept values that may be ephemeral through ephemeralasnull, since input is not write-only', () => {
    expect(standIn('kubernetes_secret_v1__token').input).toEqual(['${terraform_data.kubernetes_namespace_v1__ns.output.metadata[0].name}', '${ephemeralasnull(var.token)}']);
  });

  test("gives a dynamic block's iterator an unknown value", () => {
    expect(standIn('kubernetes_service_v1__by_port').input).toEqual(['${each.key}', '${[each.value]}', '${terraform_data.structure_check__unknown.output.value}']);
    expect(standIn('structure_check__unknown')).toEqual({});
  });

  test('keeps remote state, variables, outputs and locals, references rewritten', () => {
    expect((config.data as StackJson).terraform_remote_state).toEqual(FEATURES.data.terraform_remote_state);
    expect(config.variable).toEqual(FEATURES.variable);
    expect(config.locals).toEqual({ labels: { team: '${var.west_host}' }, ns: '${terraform_data.kubernetes_namespace_v1__ns.output.metadata[0].name}' });
    expect(config.output).toEqual({
      namespace: { value: '${terraform_data.kubernetes_namespace_v1__ns.output.metadata[0].name}', depends_on: ['terraform_data.kubernetes_deployment_v1__api'] },
    });
  });

  test('drops the provider and its requirement; its configuration references live on in a stand-in', () => {
    expect(config.provider).toBeUndefined();
    expect(config.terraform).toEqual({ backend: FEATURES.terraform.backend });
    expect(standIn('provider__kubernetes').input).toEqual(['${data.terraform_remote_state.platform.outputs.endpoint}']);
    expect(standIn('provider__kubernetes__west').input).toEqual(['${ephemeralasnull(var.west_host)}']);
  });

  test('leaves stacks of installed providers alone', () => {
    const { stacks } = synthPlatform();
    const data = stacks.get('sukhumvit-cafe-data')!;
    const rewritten = structureCheckConfig(data as StructureCheckInput, new Set(['kubernetes', 'helm']));
    expect(rewritten.config).toEqual(data);
    expect(rewritten.replacedBlocks).toBe(0);
  });

  test('fails when a provider argument names an alias no provider block declares', () => {
    const stack = clone(FEATURES);
    stack.resource.kubernetes_secret_v1.token.provider = 'kubernetes.east';
    expect(() => structureCheckConfig(stack as StructureCheckInput, new Set(['kubernetes']))).toThrow(
      new StructureCheckError('kubernetes_secret_v1.token: provider "kubernetes.east" names no provider declared in the stack (declared: kubernetes, kubernetes.west)'),
    );
  });

  test('fails when a provider argument is an interpolation (Terraform wants a bare name)', () => {
    const stack = clone(FEATURES);
    stack.resource.kubernetes_secret_v1.token.provider = '${kubernetes.west}';
    expect(() => structureCheckConfig(stack as StructureCheckInput, new Set(['kubernetes']))).toThrow(
      'structure check: kubernetes_secret_v1.token: provider must be a provider name, optionally followed by a period and an alias (e.g. "kubernetes.west"), got "${kubernetes.west}"',
    );
  });

  test('fails when the stack has top-level blocks it does not model', () => {
    expect(() => structureCheckConfig({ ...clone(FEATURES), moved: [{ from: 'a.b', to: 'a.c' }] } as StructureCheckInput, new Set(['kubernetes']))).toThrow(
      'structure check: top-level "moved" blocks are not modelled; extend stacks/checks/plan/structure-check.ts',
    );
  });
});

describe('with real Terraform', () => {
  const mirrored = findMirroredProviders(mirrorDirsFromEnvironment(process.env));
  let terraformBin: string;
  let synthesized: { outdir: string; stacks: readonly StackSummary[] };

  beforeAll(() => {
    // Throws TerraformMissingError (what to install and how) when Terraform is absent.
    terraformBin = findTerraform(process.env).bin;
    // The sample locations plus one onboarded the way `npm run location:add` does it.
    const locationsDir = path.join(work, 'locations');
    fs.mkdirSync(locationsDir);
    for (const file of fs.readdirSync(SAMPLE_LOCATIONS_DIR)) fs.copyFileSync(path.join(SAMPLE_LOCATIONS_DIR, file), path.join(locationsDir, file));
    addLocation(locationsDir, { id: 'patong-beach', region: 'ap-southeast-1' });
    const { locations, ...options } = loadSynthInputs({ ...process.env, LOCATIONS_DIR: locationsDir });
    synthesized = synthesize(locations, options, path.join(work, 'cdktf.out'));
  }, 120_000);

  /** The structure check of stack JSONs, by stack name, as the plan check runs it. */
  async function structureCheckAll(stacks: Record<string, StackJson>, workDir: string): Promise<StackPlan[]> {
    const outdir = path.join(workDir, 'cdktf.out');
    for (const [name, json] of Object.entries(stacks)) {
      fs.mkdirSync(path.dirname(stackJsonPath(outdir, name)), { recursive: true });
      fs.writeFileSync(stackJsonPath(outdir, name), JSON.stringify(json, null, 2));
    }
    const summaries = Object.keys(stacks).map((stack): StackSummary => ({ stack, kind: 'app', region: 'ap-southeast-1', resources: 0, dataSources: 0, outputs: 0 }));
    return runPlans({ synthOutdir: outdir, workDir, stacks: summaries, terraformBin, mirrored, providersFromRegistry: false });
  }
  const structureCheck = async (name: string, json: StackJson) => (await structureCheckAll({ [name]: json }, path.join(work, name)))[0]!;
  const appStack = () => JSON.parse(fs.readFileSync(stackJsonPath(synthesized.outdir, 'patong-beach-app'), 'utf8')) as StackJson;
  const onlyName = (blocks: Record<string, unknown>) => Object.keys(blocks)[0]!;

  test('passes on every synthesized stack of the sample locations and of an onboarded one', async () => {
    // No mirror: every provider counts as unavailable, so every stack, AWS ones included, is structure-checked.
    const results = await runPlans({ synthOutdir: synthesized.outdir, workDir: path.join(work, 'all'), stacks: synthesized.stacks, terraformBin, mirrored: [], providersFromRegistry: false });
    expect(results.filter((r) => r.status !== 'structure-checked').map((r) => `${r.stack.stack}: ${r.error?.step} ${r.error?.message}`)).toEqual([]);
    expect(results.map((r) => r.stack.stack)).toEqual(expect.arrayContaining(['patong-beach-app', 'patong-beach-data', 'addons-ap-southeast-1', 'sukhumvit-cafe-app']));
    for (const r of results) expect(r.standIns).toBeGreaterThan(5);
  }, 120_000);

  test('with the aws mirror, structure-checks only the kubernetes and helm stacks', async () => {
    const results = await runPlans({
      synthOutdir: synthesized.outdir,
      workDir: path.join(work, 'mirror'),
      stacks: synthesized.stacks.filter((s) => s.kind === 'app' || s.kind === 'addons'),
      terraformBin,
      mirrored,
      providersFromRegistry: false,
    });
    expect(results.map((r) => [r.stack.stack, r.status, r.error?.message])).toEqual(results.map((r) => [r.stack.stack, 'structure-checked', undefined]));
    expect(results.find((r) => r.stack.stack === 'patong-beach-app')!.reason).toMatch(/^provider registry\.terraform\.io\/hashicorp\/kubernetes \S+ is not in a filesystem mirror/);
  }, 60_000);

  test('passes on a stack using every feature the rewrite handles', async () => {
    expect(await structureCheck('features', clone(FEATURES))).toMatchObject({ status: 'structure-checked', check: 'structure', standIns: 6 });
  }, 60_000);

  test("fails on an interpolated depends_on (the app stack's old form), naming the resource", async () => {
    const json = appStack();
    const job = onlyName(json.resource.kubernetes_job_v1);
    const cronJob = onlyName(json.resource.kubernetes_cron_job_v1);
    json.resource.kubernetes_cron_job_v1[cronJob].depends_on = [`\${kubernetes_job_v1.${job}}`];
    const result = await structureCheck('old-depends-on', json);
    expect(result.status).toBe('failed');
    expect(result.error!.message).toContain(
      `kubernetes_cron_job_v1.${cronJob} depends_on: Invalid expression: A single static variable reference is required: only attribute access and indexing with constant keys.`,
    );
  }, 60_000);

  test('fails on a reference to a resource that does not exist, naming both', async () => {
    const json = appStack();
    const deployment = Object.keys(json.resource.kubernetes_deployment_v1).find((n) => n.startsWith('api_'))!;
    json.resource.kubernetes_deployment_v1[deployment].metadata.namespace = '${kubernetes_namespace_v1.gone.metadata[0].name}';
    const result = await structureCheck('undeclared', json);
    expect(result).toMatchObject({ status: 'failed', error: { step: 'validate' } });
    expect(result.error!.message).toBe(
      `kubernetes_deployment_v1.${deployment}: Reference to undeclared resource: A managed resource "kubernetes_namespace_v1" "gone" has not been declared in the root module.`,
    );
  }, 60_000);

  test('fails on a depends_on naming a resource that does not exist', async () => {
    const json = appStack();
    const cronJob = onlyName(json.resource.kubernetes_cron_job_v1);
    json.resource.kubernetes_cron_job_v1[cronJob].depends_on = ['kubernetes_job_v1.gone'];
    const result = await structureCheck('undeclared-depends-on', json);
    expect(result.error?.message).toBe(
      `kubernetes_cron_job_v1.${cronJob} depends_on: Reference to undeclared resource: A managed resource "kubernetes_job_v1" "gone" has not been declared in the root module.`,
    );
  }, 60_000);

  test('fails on a reference cycle, naming the resources in it', async () => {
    const json = appStack();
    const namespace = onlyName(json.resource.kubernetes_namespace_v1);
    const job = onlyName(json.resource.kubernetes_job_v1);
    json.resource.kubernetes_namespace_v1[namespace].depends_on = [`kubernetes_job_v1.${job}`];
    const result = await structureCheck('cycle', json);
    expect(result).toMatchObject({ status: 'failed', error: { step: 'validate' } });
    expect(result.error!.message).toMatch(/^Cycle: /);
    expect(result.error!.message).toContain(`kubernetes_namespace_v1.${namespace}`);
    expect(result.error!.message).toContain(`kubernetes_job_v1.${job}`);
  }, 60_000);

  test('fails on an instance key for a resource without count', async () => {
    const stack = clone(FEATURES);
    stack.output.namespace.value = '${kubernetes_namespace_v1.ns[0].metadata[0].name}';
    const result = await structureCheck('instance-key', stack);
    expect(result.error?.message).toBe(
      'output.namespace: Unexpected resource instance key: Because kubernetes_namespace_v1.ns does not have "count" or "for_each" set, references to it must not include an index key. Remove the bracketed index to refer to the single instance of this resource.',
    );
  }, 60_000);

  test('validates a stack of installed and unavailable providers with the installed one, installed once', async () => {
    const mixed: StackJson = {
      terraform: { required_providers: { aws: { source: 'aws', version: '5.100.0' }, ...KUBERNETES } },
      provider: { aws: [{ region: 'ap-southeast-1' }], kubernetes: [{}] },
      resource: {
        aws_sns_topic: { alerts: { name: 'alerts', depends_on: ['kubernetes_namespace_v1.ns'], tags: { namespace: '${kubernetes_namespace_v1.ns.metadata[0].name}' } } },
        kubernetes_namespace_v1: { ns: { metadata: { name: 'cafe' } } },
      },
    };
    const broken = clone(mixed);
    broken.resource.aws_sns_topic.alerts.name_prefiks = 'typo';
    const workDir = path.join(work, 'mixed');
    const [passed, failed] = await structureCheckAll({ mixed, 'mixed-broken': broken }, workDir);
    expect(passed).toMatchObject({ status: 'structure-checked', standIns: 1 });
    // The installed provider's schema still judges its own resources.
    expect(failed!.error).toEqual({
      step: 'validate',
      message: 'aws_sns_topic.alerts: Extraneous JSON object property: No argument or block type is named "name_prefiks". Did you mean "name_prefix"?',
    });
    expect(fs.readdirSync(path.join(workDir, 'providers'))).toHaveLength(1);
  }, 120_000);
});
