/**
 * What rules share: reading values the same way from plans and synthesized JSON, matching a
 * resource to the resources that refer to it, and writing violations.
 *
 * Sources differ in three ways, and every rule goes through these helpers for all three:
 * - a plan fills in provider defaults; synthesized JSON leaves unset attributes absent, and each
 *   rule states what absent means (the provider default);
 * - a plan leaves values computed at apply unknown; `effectiveValues` fills them with their
 *   configured `${...}` expression, so "refers to resource X" reads the same in both;
 * - booleans of some provider attributes are strings (`at_rest_encryption_enabled = "true"`).
 */
import type { StackKind } from '../../../infra/stack-contracts';
import { blocks, effectiveValues } from '../policy-resources';
import type { PolicyInput, PolicyResource, Violation } from '../policy-types';

export { block, blocks, effectiveValues } from '../policy-resources';

/** Stacks that hold AWS resources; AWS rules apply to both so a resource moved between them stays checked. */
export const AWS_STACKS: readonly StackKind[] = ['platform', 'data'];
/** Stacks that hold Kubernetes and Helm resources. */
export const KUBERNETES_STACKS: readonly StackKind[] = ['app', 'addons'];

/** Resources of any of the given types. */
export function ofType(input: PolicyInput, ...types: string[]): PolicyResource[] {
  return input.resources.filter((r) => types.includes(r.type));
}

export function violation(resource: PolicyResource, message: string): Violation {
  return { address: resource.address, message: `${resource.address}: ${message}` };
}

export const isTrue = (value: unknown): boolean => value === true || value === 'true';
export const isFalse = (value: unknown): boolean => value === false || value === 'false';

/** A Terraform interpolation, e.g. `${aws_kms_key.data.arn}`: set, to a value known at apply. */
export const isExpression = (value: unknown): boolean => typeof value === 'string' && value.includes('${');

/** Set to something: not absent, null, empty string or empty list. */
export const isSet = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

export const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/**
 * How a value reads in a message: `false`, `"preferred"`, `not set`, or with the provider default
 * an absent attribute stands for: `not set (defaults to false)`.
 */
export function shown(value: unknown, providerDefault?: string): string {
  if (value === undefined || value === null) return providerDefault === undefined ? 'not set' : `not set (defaults to ${providerDefault})`;
  return JSON.stringify(value);
}

/**
 * True when a plan could not say whether the attribute is written: it is unknown and the plan
 * input carries no configuration. Such a value is computed at apply; rules do not fail on it.
 */
export const unknownWithoutConfiguration = (resource: PolicyResource, attribute: string): boolean =>
  resource.unknown.has(attribute) && resource.configured === undefined;

/**
 * True for a planned resource without configuration: a nested value computed at apply (a key ARN
 * inside a block) is then simply absent, and rules do not fail on its absence.
 */
export const plannedWithoutConfiguration = (input: PolicyInput, resource: PolicyResource): boolean =>
  input.source === 'plan' && resource.configured === undefined;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether any `${...}` expression in a value (searched deeply) refers to the resource at `address`. */
export function refersTo(value: unknown, address: string): boolean {
  if (typeof value === 'string') {
    return value.includes('${') && new RegExp(`(^|[^\\w-])${escapeRegExp(address)}(?=[.\\[\\s})]|$)`).test(value);
  }
  if (Array.isArray(value)) return value.some((v) => refersTo(v, address));
  if (value && typeof value === 'object') return Object.values(value).some((v) => refersTo(v, address));
  return false;
}

/**
 * Whether a value designates `target`: by a reference (`${aws_s3_bucket.logs.id}`), or by the
 * target's literal name (`bucket = "resort-logs"` when the log bucket's `bucket` is that literal).
 */
export function designates(value: unknown, target: PolicyResource, nameAttribute: string): boolean {
  if (refersTo(value, target.address)) return true;
  const name = effectiveValues(target)[nameAttribute];
  return typeof value === 'string' && !isExpression(value) && typeof name === 'string' && !isExpression(name) && value === name;
}

/** The resources of `type` whose `attribute` designates `target` (companions such as a bucket's versioning). */
export function companionsOf(input: PolicyInput, type: string, attribute: string, target: PolicyResource, nameAttribute: string): PolicyResource[] {
  return ofType(input, type).filter((r) => designates(effectiveValues(r)[attribute], target, nameAttribute));
}

/** The resource of `types` in the stack that a value designates, if any. */
export function designatedResource(input: PolicyInput, value: unknown, types: readonly string[], nameAttribute: string): PolicyResource | undefined {
  return ofType(input, ...types).find((r) => designates(value, r, nameAttribute));
}

/** A Kubernetes or provider block's first item, or an empty object. */
export const first = (value: unknown): Record<string, unknown> => blocks(value)[0] ?? {};

/** `api`, `api`, `ws` → `api, ws` (for messages listing what is missing). */
export const listed = (items: readonly string[]): string => [...new Set(items)].join(', ');

/** What a per-resource check returns: nothing when the resource complies, else what is wrong. */
export type Finding = string | readonly string[] | undefined;

/** An `evaluate` that runs `check` on every resource of the given types. */
export function eachResource(
  types: readonly string[],
  check: (resource: PolicyResource, values: Readonly<Record<string, unknown>>, input: PolicyInput) => Finding,
): (input: PolicyInput) => Violation[] {
  return (input) =>
    ofType(input, ...types).flatMap((resource) => {
      const found = check(resource, effectiveValues(resource), input);
      const messages = found === undefined ? [] : typeof found === 'string' ? [found] : found;
      return messages.map((message) => violation(resource, message));
    });
}

/**
 * Text with every `${...}` interpolation replaced by `placeholder`. Interpolations may nest braces
 * and quotes (`${element(split(":", x), 4)}`), which would break a JSON document read as text.
 */
export function withoutInterpolations(text: string, placeholder = 'x'): string {
  let result = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('${', i)) {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
      }
      result += placeholder;
      i = j;
    } else {
      result += text[i];
      i++;
    }
  }
  return result;
}
