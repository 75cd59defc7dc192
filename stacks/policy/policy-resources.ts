/** Reads the resources of a stack for policy checks, from a plan or from synthesized JSON. */
import type { PolicyResource } from './policy-types';

interface PlanJson {
  resource_changes?: {
    address: string;
    mode: string;
    type: string;
    change: { actions: string[]; after: Record<string, unknown> | null; after_unknown?: Record<string, unknown> };
  }[];
}

/** Resources a plan creates or keeps, with their planned values (deleted ones are skipped). */
export function resourcesFromPlan(plan: PlanJson): PolicyResource[] {
  return (plan.resource_changes ?? [])
    .filter((rc) => rc.mode === 'managed' && rc.change.after !== null && !rc.change.actions.every((a) => a === 'delete'))
    .map((rc) => ({
      address: rc.address,
      type: rc.type,
      values: rc.change.after ?? {},
      unknown: new Set(Object.entries(rc.change.after_unknown ?? {}).filter(([, v]) => v === true).map(([k]) => k)),
    }));
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
