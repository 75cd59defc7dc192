/**
 * Helpers for the data stack's tests: a bare stack to host one construct, and readers for its
 * resources and policies in the synthesized Terraform JSON.
 */
import type { IConstruct } from 'constructs';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import type { App } from '../../../stacks/infra/cdktf';
import { TerraformStack } from '../../../stacks/infra/cdktf';
import type { Location, TechnicalSizing } from '../../../stacks/infra/config/location';
import type { Json } from './synth-json';

export const ACCOUNT_ID = '123456789012';

/** A location with some sizing replaced, for error and option tests. */
export function withSizing(
  location: Location,
  patch: { database?: Partial<TechnicalSizing['database']>; redis?: Partial<TechnicalSizing['redis']> },
): Location {
  return {
    ...location,
    sizing: {
      ...location.sizing,
      database: { ...location.sizing.database, ...patch.database },
      redis: { ...location.sizing.redis, ...patch.redis },
    },
  };
}

/** A stack with the location's default provider and the us-east-1 alias, to host one construct. */
export function hostStack(app: App, id: string, location: Location): { stack: TerraformStack; usEast1: AwsProvider } {
  const stack = new TerraformStack(app, id);
  new AwsProvider(stack, 'aws', { region: location.region });
  const usEast1 = new AwsProvider(stack, 'aws-us-east-1', { alias: 'us_east_1', region: 'us-east-1' });
  return { stack, usEast1 };
}

/** Every resource of a type, in synthesis order. */
export function resources(json: Json, type: string): Json[] {
  return Object.values((json.resource?.[type] ?? {}) as Record<string, Json>);
}

/** What tests need of a synthesized Terraform resource construct. */
export interface SynthesizedResource {
  readonly terraformResourceType: string;
  readonly friendlyUniqueId: string;
}

/** The resource construct at a `/`-separated path below `scope`. */
export function find(scope: IConstruct, childPath: string): SynthesizedResource {
  const found = childPath.split('/').reduce<IConstruct>((node, id) => node.node.findChild(id), scope);
  if (!('terraformResourceType' in found)) throw new Error(`${found.node.path} is not a Terraform resource`);
  return found as unknown as SynthesizedResource;
}

/** A resource's block in the synthesized JSON. */
export function blockOf(json: Json, resource: SynthesizedResource): Json {
  const block = json.resource?.[resource.terraformResourceType]?.[resource.friendlyUniqueId] as Json | undefined;
  if (!block) throw new Error(`${resource.terraformResourceType}.${resource.friendlyUniqueId} is not in the synthesized JSON`);
  return block;
}

/** The Terraform reference of a resource's attribute, as it appears in synthesized JSON. */
export function refOf(resource: SynthesizedResource, attribute: string): string {
  return `\${${resource.terraformResourceType}.${resource.friendlyUniqueId}.${attribute}}`;
}

export interface PolicyJson {
  Version: string;
  Statement: Array<{
    Sid?: string;
    Effect: 'Allow' | 'Deny';
    Principal?: unknown;
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, unknown>>;
  }>;
}

/**
 * Parses a synthesized policy. The text is a Terraform template: `${...}` interpolations may hold
 * quotes (`split(":", arn)`), valid for Terraform but not JSON, so they are escaped first and kept
 * verbatim in the parsed strings.
 */
export function policy(text: unknown): PolicyJson {
  const template = String(text);
  let escaped = '';
  for (let i = 0; i < template.length; ) {
    if (!template.startsWith('${', i)) {
      escaped += template[i++];
      continue;
    }
    let depth = 0;
    let end = i;
    for (; end < template.length; end++) {
      if (template[end] === '{') depth++;
      else if (template[end] === '}' && --depth === 0) break;
    }
    escaped += JSON.stringify(template.slice(i, end + 1)).slice(1, -1);
    i = end + 1;
  }
  return JSON.parse(escaped) as PolicyJson;
}

export const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every key anywhere in a JSON value, for "this attribute appears nowhere" checks. */
export function allKeys(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => allKeys(v, into));
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      into.add(key);
      allKeys(v, into);
    }
  }
  return into;
}
