/** Reads the resources of a stack for policy checks, from a plan or from synthesized JSON. */
import type { StackKind } from '../../infra/stack-contracts';
import type { PolicyInput, PolicyResource } from './policy-types';

interface PlanJson {
  resource_changes?: {
    address: string;
    mode: string;
    type: string;
    change: { actions: string[]; after: Record<string, unknown> | null; after_unknown?: Record<string, unknown> };
  }[];
  /** `terraform show -json` of a saved plan carries the configuration it was planned from. */
  configuration?: {
    root_module?: { resources?: { address: string; mode: string; expressions?: Record<string, unknown> }[] };
  };
}

interface SynthesizedStackJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  provider?: Record<string, unknown>;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A configuration expression (`{constant_value, references}`) or nested block (an array of objects
 * of expressions) as the value the configuration writes. cdktf writes every attribute as a
 * constant, `${...}` interpolations included; an expression without a constant (hand-written HCL)
 * becomes an interpolation of the first thing it references.
 */
function configuredValue(expression: unknown): unknown {
  if (Array.isArray(expression)) return expression.map(configuredValue);
  if (!isPlainObject(expression)) return expression;
  if ('constant_value' in expression) return expression.constant_value;
  if (Array.isArray(expression.references)) {
    return expression.references.length > 0 ? `\${${String(expression.references[0])}}` : undefined;
  }
  return Object.fromEntries(Object.entries(expression).map(([key, nested]) => [key, configuredValue(nested)]));
}

/** The configured attributes of every managed resource of the root module, by address without index. */
function configuredByAddress(plan: PlanJson): Map<string, Record<string, unknown>> {
  const byAddress = new Map<string, Record<string, unknown>>();
  for (const resource of plan.configuration?.root_module?.resources ?? []) {
    if (resource.mode !== 'managed') continue;
    byAddress.set(resource.address, configuredValue(resource.expressions ?? {}) as Record<string, unknown>);
  }
  return byAddress;
}

/** Resources a plan creates or keeps, with their planned values (deleted ones are skipped). */
export function resourcesFromPlan(plan: PlanJson): PolicyResource[] {
  const configured = configuredByAddress(plan);
  return (plan.resource_changes ?? [])
    .filter((rc) => rc.mode === 'managed' && rc.change.after !== null && !rc.change.actions.every((a) => a === 'delete'))
    .map((rc) => {
      const resource: PolicyResource = {
        address: rc.address,
        type: rc.type,
        values: rc.change.after ?? {},
        unknown: new Set(Object.entries(rc.change.after_unknown ?? {}).filter(([, v]) => v === true).map(([k]) => k)),
      };
      // `aws_x.name[0]` and `aws_x.name["key"]` come from the one configuration block `aws_x.name`.
      const written = configured.get(rc.address.replace(/\[[^\]]*\]$/, ''));
      return written ? { ...resource, configured: written } : resource;
    });
}

/**
 * Resources of a synthesized stack. cdktf writes a nested block as an object when there is one
 * and as an array when there are several; rules read nested blocks through `blocks()`.
 */
export function resourcesFromSynth(stack: { resource?: Record<string, Record<string, Record<string, unknown>>> }): PolicyResource[] {
  const resources: PolicyResource[] = [];
  for (const [type, byName] of Object.entries(stack.resource ?? {})) {
    for (const [name, values] of Object.entries(byName)) {
      const { ['//']: _metadata, ...rest } = values;
      resources.push({ address: `${type}.${name}`, type, values: rest, unknown: new Set() });
    }
  }
  return resources;
}

/** `default_tags` of every aws provider configuration of a synthesized stack, by provider reference. */
export function providerDefaultTagsFromSynth(stack: SynthesizedStackJson): Record<string, Record<string, string>> {
  const byReference: Record<string, Record<string, string>> = {};
  for (const config of blocks(stack.provider?.aws)) {
    const reference = typeof config.alias === 'string' ? `aws.${config.alias}` : 'aws';
    byReference[reference] = Object.assign({}, ...blocks(config.default_tags).map((d) => (isPlainObject(d.tags) ? d.tags : {})));
  }
  return byReference;
}

/** The policy input of a synthesized stack (`cdk.tf.json`), provider default tags included. */
export function policyInputFromSynth(stack: string, kind: StackKind, json: SynthesizedStackJson): PolicyInput {
  return { stack, kind, source: 'synth', resources: resourcesFromSynth(json), providerDefaultTags: providerDefaultTagsFromSynth(json) };
}

/** The policy input of a stack's plan (`terraform show -json` of a saved plan). */
export function policyInputFromPlan(stack: string, kind: StackKind, plan: PlanJson): PolicyInput {
  return { stack, kind, source: 'plan', resources: resourcesFromPlan(plan) };
}

/** A nested block as an array, whether the source wrote it as an object, an array or not at all. */
export function blocks(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value as Record<string, unknown>[];
  if (value && typeof value === 'object') return [value as Record<string, unknown>];
  return [];
}

/** The first nested block at a path, e.g. `block(r.values, 'spec', 'template', 'spec')`. */
export function block(value: unknown, ...path: string[]): Record<string, unknown> | undefined {
  let current: unknown = value;
  for (const key of path) {
    const first: Record<string, unknown> | undefined = blocks(current)[0];
    current = first?.[key];
  }
  return blocks(current)[0];
}

const scalarMatches = (known: Record<string, unknown>, written: Record<string, unknown>) =>
  Object.entries(known).filter(([key, value]) => value !== null && typeof value !== 'object' && written[key] === value).length;

/**
 * Known values merged with the written ones: where the plan knows a value it wins (provider
 * defaults and normalizations included); where it does not, the written value (often a `${...}`
 * expression) fills in. Nested blocks are matched item by item; a plan may reorder the items of a
 * set, so each known item takes the written item that shares most of its known scalar values.
 */
function mergeWritten(known: unknown, written: unknown): unknown {
  if (written === undefined) return known;
  if (known === undefined || known === null) return written;
  if (Array.isArray(known) && Array.isArray(written)) {
    const unused = written.map((_, i) => i);
    const merged = known.map((item, index) => {
      if (unused.length === 0) return item;
      // Same position first, so ties (and lists, whose order the plan keeps) stay in place.
      const candidates = unused.includes(index) ? [index, ...unused.filter((i) => i !== index)] : unused;
      let pick = candidates[0]!;
      if (isPlainObject(item)) {
        let best = -1;
        for (const candidate of candidates) {
          const w = written[candidate];
          const score = isPlainObject(w) ? scalarMatches(item, w) : -1;
          if (score > best) [best, pick] = [score, candidate];
        }
      }
      unused.splice(unused.indexOf(pick), 1);
      return mergeWritten(item, written[pick]);
    });
    // A list the plan knows has the length it will have; written items beyond it are not added.
    return merged;
  }
  if (isPlainObject(known) && isPlainObject(written)) {
    const keys = new Set([...Object.keys(known), ...Object.keys(written)]);
    return Object.fromEntries([...keys].map((key) => [key, mergeWritten(known[key], written[key])]));
  }
  return known;
}

/**
 * The values a rule judges: for synth input the configuration itself; for plan input the planned
 * values with every value unknown at plan time filled from the configuration (see `configured`).
 * An attribute that is unknown and not written is left absent: the provider computes it, usually
 * a default (a rule says per attribute what absent means).
 */
export function effectiveValues(resource: PolicyResource): Readonly<Record<string, unknown>> {
  return resource.configured ? (mergeWritten(resource.values, resource.configured) as Record<string, unknown>) : resource.values;
}
