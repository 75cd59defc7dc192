/**
 * Reading synthesized Terraform JSON in tests, the one place every stack and construct test gets it
 * from: resources by type or by construct path, and a copy with machine-specific strings replaced,
 * for snapshots.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing, type TerraformStack } from '../../../stacks/infra/cdktf';

// Synthesized Terraform JSON is untyped by nature: tests read it as such, and assert its shape.
export type Block = Record<string, any>;
export type SynthJson = any;
/** The name the app and data stack tests use for any part of it. */
export type Json = SynthJson;

export function synthJson(stack: TerraformStack): SynthJson {
  return JSON.parse(Testing.synth(stack)) as SynthJson;
}

/** Every resource of `type`, keyed by its Terraform name. */
export function resourcesOfType(json: SynthJson, type: string): Record<string, Block> {
  return json.resource?.[type] ?? {};
}

interface TerraformElementLike {
  readonly terraformResourceType: string;
  readonly friendlyUniqueId: string;
}

/**
 * `type.name` of the resource whose construct path ends with `/pathSuffix` (e.g. `network/vpc`).
 * Found through the construct tree, because cdktf shortens and hashes the Terraform names.
 */
export function addressOf(stack: TerraformStack, pathSuffix: string): string {
  const matches = stack.node
    .findAll()
    .filter((c) => c.node.path.endsWith(`/${pathSuffix}`) && 'terraformResourceType' in c && 'friendlyUniqueId' in c);
  if (matches.length !== 1) throw new Error(`expected one resource at .../${pathSuffix}, found ${matches.length}`);
  const element = matches[0] as unknown as TerraformElementLike;
  return `${element.terraformResourceType}.${element.friendlyUniqueId}`;
}

/** A reference to `attribute` of the resource at `pathSuffix`, as synthesized JSON spells it. */
export function refTo(stack: TerraformStack, pathSuffix: string, attribute: string): string {
  return `\${${addressOf(stack, pathSuffix)}.${attribute}}`;
}

/** The synthesized body of the resource at `pathSuffix`. */
export function resourceAt(json: SynthJson, stack: TerraformStack, pathSuffix: string): Block {
  const [type, name] = addressOf(stack, pathSuffix).split('.') as [string, string];
  const body = json.resource?.[type]?.[name];
  if (!body) throw new Error(`no ${type}.${name} in the synthesized JSON`);
  return body;
}

/**
 * Parses an IAM or lifecycle policy that holds Terraform interpolations. An interpolation such as
 * `${element(split(":", x.arn), 4)}` may contain quotes, so each is kept as text with its quotes
 * escaped; what Terraform substitutes is a plain string, so the structure is what Terraform sends.
 */
export function parsePolicy(text: string): any {
  return JSON.parse(text.replace(/\$\{[^}]*\}/g, (interpolation) => interpolation.replace(/"/g, '\\"')));
}

/** A copy with the repository root and temp dir replaced, so snapshots hold on every machine. */
export function stripVolatile<T>(json: T): T {
  const repoRoot = path.resolve(__dirname, '../../..');
  const text = JSON.stringify(json).split(repoRoot).join('<repo>').split(os.tmpdir()).join('<tmp>');
  return JSON.parse(text) as T;
}

/**
 * An IRSA trust policy that lets exactly one service account assume the role through the
 * cluster's OIDC provider (at `providerPath`) and nothing else.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function expectIrsaTrust(trust: any, stack: TerraformStack, serviceAccount: { namespace: string; name: string }, providerPath = 'irsa/provider'): void {
  expect(trust.Statement).toHaveLength(1);
  expect(trust.Statement[0]).toMatchObject({ Effect: 'Allow', Principal: { Federated: refTo(stack, providerPath, 'arn') }, Action: 'sts:AssumeRoleWithWebIdentity' });
  expect(Object.values(trust.Statement[0].Condition.StringEquals)).toEqual([`system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`, 'sts.amazonaws.com']);
}
