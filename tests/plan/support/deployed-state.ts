/**
 * A Terraform state that stands for a deployed stack, made offline from the stack's creation plan,
 * so that `terraform plan -refresh=false` of a changed configuration shows what would change on a
 * deployed location (updates, replacements) instead of creating everything.
 *
 * Each resource of the creation plan becomes a state instance with the planned values; the values
 * AWS would assign (ids, ARNs, endpoints) get placeholders of the right shape. Then the stack is
 * planned against that state, and every planned value is written back, until a plan changes no
 * attribute: references between resources then agree with each other, as after a real apply.
 * The provider is never asked to read AWS (`-refresh=false`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runTerraform } from '../../../stacks/checks/plan/terraform-cli';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Resources left out of the state by default. The master secret: once it has an ARN, the
 * ephemeral password generator opens at plan time, and opening it calls AWS (Secrets Manager's
 * GetRandomPassword). A caller that answers that call itself (a loopback stand-in behind
 * `AWS_ENDPOINT_URL`) passes an empty set and gets every resource.
 */
const LEFT_OUT: ReadonlySet<string> = new Set(['aws_secretsmanager_secret', 'aws_secretsmanager_secret_version']);

const short = (text: string) => `fx${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;

/** A value AWS would assign to an attribute the plan leaves unknown. */
function placeholder(definition: Json, name: string, rc: Json): unknown {
  if (definition.type === 'string') {
    if (name === 'arn' || name.endsWith('_arn')) return `arn:aws:${rc.type.split('_')[1]}:ap-southeast-1:111111111111:${rc.type.split('_').slice(1).join('-')}/${short(rc.address)}`;
    const assigned = (definition.computed && !definition.optional) || name === 'id' || name.endsWith('_id');
    // An optional computed string AWS fills in from a fixed set (a mode, a scope) stays null.
    return assigned ? short(`${rc.address}.${name}`) : null;
  }
  if (Array.isArray(definition.type) && (definition.type[0] === 'list' || definition.type[0] === 'set')) return [];
  if (Array.isArray(definition.type) && definition.type[0] === 'map') return {};
  return null;
}

/**
 * Terraform's paths (`sensitive_attributes` in state) to the values a plan marks sensitive
 * (`after_sensitive`). Without them every resource with a sensitive attribute plans an update
 * that changes nothing but the marks.
 */
function sensitivePaths(marks: unknown, prefix: Json[] = []): Json[][] {
  if (marks === true) return [prefix];
  if (Array.isArray(marks)) return marks.flatMap((m, i) => sensitivePaths(m, [...prefix, { type: 'index', value: { value: i, type: 'number' } }]));
  if (marks !== null && typeof marks === 'object') return Object.entries(marks).flatMap(([key, m]) => sensitivePaths(m, [...prefix, { type: 'get_attr', value: key }]));
  return [];
}

/**
 * The state after the plan's changes, from `terraform show -json` of a plan and the provider
 * schemas: its resources and the outputs it knows.
 */
export function stateFromPlan(plan: Json, schemas: Json, serial: number, leftOut: ReadonlySet<string> = LEFT_OUT): Json {
  const providerKeys = new Map<string, string>(plan.configuration.root_module.resources.map((r: Json) => [r.address, r.provider_config_key]));
  const resources = new Map<string, Json>();
  for (const rc of plan.resource_changes) {
    if (rc.mode !== 'managed' || leftOut.has(rc.type) || !rc.change.after) continue;
    const schema = schemas[rc.type];
    const after = rc.change.after;
    const unknown = rc.change.after_unknown ?? {};
    const attributes: Json = {};
    for (const [name, definition] of Object.entries<Json>(schema.block.attributes ?? {})) {
      if (definition.write_only) continue;
      attributes[name] = unknown[name] === true ? (rc.change.before?.[name] ?? placeholder(definition, name, rc)) : (after[name] ?? null);
    }
    if (rc.type === 'aws_acm_certificate' && unknown.domain_validation_options) {
      // What ACM answers for DNS validation; the validation records iterate over it.
      attributes.domain_validation_options = [after.domain_name, ...(after.subject_alternative_names ?? [])].map((domain: string) => ({
        domain_name: domain,
        resource_record_name: `_${short(domain)}.${domain}.`,
        resource_record_type: 'CNAME',
        resource_record_value: `_${short(domain)}.acm-validations.aws.`,
      }));
    }
    for (const [name, definition] of Object.entries<Json>(schema.block.block_types ?? {})) {
      const empty = ['single', 'group'].includes(definition.nesting_mode) ? null : definition.nesting_mode === 'map' ? {} : [];
      attributes[name] = unknown[name] === true ? (rc.change.before?.[name] ?? empty) : (after[name] ?? empty);
    }
    const providerKey = providerKeys.get(rc.address.replace(/\[[^\]]*\]$/, '')) ?? 'aws';
    const alias = providerKey.includes('.') ? `.${providerKey.split('.')[1]}` : '';
    const key = `${rc.type}.${rc.name}`;
    const entry = resources.get(key) ?? { mode: 'managed', type: rc.type, name: rc.name, provider: `provider["registry.terraform.io/hashicorp/aws"]${alias}`, instances: [] };
    entry.instances.push({
      ...(rc.index !== undefined ? { index_key: rc.index } : {}),
      schema_version: schema.version,
      attributes,
      sensitive_attributes: sensitivePaths(rc.change.after_sensitive),
    });
    resources.set(key, entry);
  }
  const outputs = Object.fromEntries(
    Object.entries<Json>(plan.planned_values?.outputs ?? {})
      .filter(([, output]) => output.value !== undefined && output.type !== undefined)
      .map(([name, output]) => [name, { value: output.value, type: output.type, ...(output.sensitive ? { sensitive: true } : {}) }]),
  );
  return { version: 4, terraform_version: '1.11.4', serial, lineage: 'plan-check-deployed-stand-in', outputs, resources: [...resources.values()] };
}

/** Addresses of the resources whose configuration refers to a left-out resource: they never settle. */
function dependentsOfLeftOut(plan: Json, leftOut: ReadonlySet<string>): Set<string> {
  const refersToLeftOut = (value: unknown): boolean =>
    Array.isArray(value)
      ? value.some((v) => (typeof v === 'string' ? [...leftOut].some((type) => v.startsWith(`${type}.`)) : refersToLeftOut(v)))
      : value !== null && typeof value === 'object' && Object.values(value).some(refersToLeftOut);
  return new Set(plan.configuration.root_module.resources.filter((r: Json) => refersToLeftOut(r.expressions)).map((r: Json) => r.address));
}

/**
 * Resources whose planned attributes differ from the state (or are unknown), apart from the
 * left-out resources and those built from them.
 */
export function changedResources(plan: Json, leftOut: ReadonlySet<string> = LEFT_OUT): string[] {
  const unsettled = dependentsOfLeftOut(plan, leftOut);
  return plan.resource_changes
    .filter((rc: Json) => rc.mode === 'managed' && !leftOut.has(rc.type) && !unsettled.has(rc.address.replace(/\[[^\]]*\]$/, '')))
    .filter((rc: Json) => {
      const { before, after, after_unknown: unknown = {} } = rc.change;
      if (!before || !after) return true;
      return Object.keys({ ...before, ...after }).some((k) => unknown[k] === true || JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
    })
    .map((rc: Json) => rc.address);
}

export interface TerraformDir {
  readonly dir: string;
  readonly terraformBin: string;
  readonly env: NodeJS.ProcessEnv;
}

async function terraform(t: TerraformDir, args: string[]): Promise<string> {
  const run = await runTerraform(t.terraformBin, args, { cwd: t.dir, env: t.env });
  if (run.code !== 0) throw new Error(`terraform ${args.join(' ')} in ${t.dir} failed: ${run.stderr.slice(0, 2000)}`);
  return run.stdout;
}

/** `terraform plan -refresh=false` against the state in the folder, as `terraform show -json`. */
export async function planAgainstState(t: TerraformDir): Promise<Json> {
  await terraform(t, ['plan', '-input=false', '-no-color', '-lock=false', '-refresh=false', '-out=deployed.tfplan']);
  return JSON.parse(await terraform(t, ['show', '-json', '-no-color', 'deployed.tfplan']));
}

/**
 * Writes a state standing for the deployed stack into the folder (the plan-check override keeps
 * state in `terraform.tfstate` there), starting from its creation plan. Returns the rounds it took.
 */
export async function writeDeployedState(t: TerraformDir, creationPlan: Json, maxRounds = 6, leftOut: ReadonlySet<string> = LEFT_OUT): Promise<number> {
  const schemas = JSON.parse(await terraform(t, ['providers', 'schema', '-json'])).provider_schemas['registry.terraform.io/hashicorp/aws'].resource_schemas;
  let plan = creationPlan;
  for (let round = 1; round <= maxRounds; round++) {
    fs.writeFileSync(path.join(t.dir, 'terraform.tfstate'), JSON.stringify(stateFromPlan(plan, schemas, round, leftOut), null, 1));
    plan = await planAgainstState(t);
    if (changedResources(plan, leftOut).length === 0) return round;
  }
  throw new Error(`the stand-in state did not settle in ${maxRounds} rounds; still changing: ${changedResources(plan, leftOut).join(', ')}`);
}
