/**
 * Every rule passes on every stack of the shipped sample locations, read from a full synth the way
 * `npm run synth` writes it. (Plans of the AWS stacks are checked by the plan runner's test.)
 */
import * as fs from 'node:fs';
import { checkWaiverIds } from '../../stacks/checks/policy/policy-engine';
import { policyInputFromSynth } from '../../stacks/checks/policy/policy-resources';
import type { PolicyInput } from '../../stacks/checks/policy/policy-types';
import { ALL_RULES } from '../../stacks/checks/policy/rules';
import { TAGGABLE_AWS_TYPES, UNTAGGABLE_AWS_TYPES } from '../../stacks/checks/policy/rules/tagging';
import type { StackKind } from '../../stacks/infra/stack-contracts';
import { synthPlatform } from '../../tools/synth/synth-platform';

const { stacks, built, outdir } = synthPlatform();
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const kindOf = (stack: string): StackKind => {
  if (stack.startsWith('platform-')) return 'platform';
  if (stack.startsWith('addons-')) return 'addons';
  if (stack.endsWith('-data')) return 'data';
  if (stack.endsWith('-app')) return 'app';
  throw new Error(`unknown stack kind of ${stack}`);
};

const inputs: PolicyInput[] = [...stacks].map(([id, json]) => policyInputFromSynth(id, kindOf(id), json));

describe('sample stacks', () => {
  test('include every stack kind', () => {
    expect(new Set(inputs.map((i) => i.kind))).toEqual(new Set(['platform', 'addons', 'data', 'app']));
  });

  test.each(ALL_RULES.map((rule) => [rule.id, rule.title, rule] as const))('%s (%s) passes on every stack it applies to', (_id, _title, rule) => {
    const applicable = inputs.filter((i) => rule.appliesTo.includes(i.kind));
    expect(applicable.length).toBeGreaterThan(0);
    expect(applicable.flatMap((i) => rule.evaluate(i).map((v) => `${i.stack}: ${v.message}`))).toEqual([]);
  });

  test("sample locations' waivers name existing rules", () => {
    for (const { location } of built.locations.values()) {
      expect(() => checkWaiverIds(location.policyWaivers, location.sourceFile)).not.toThrow();
    }
  });

  test('every AWS resource type they use is classified as taggable or not (TAG rules read synth by this list)', () => {
    const types = new Set(inputs.flatMap((i) => i.resources.map((r) => r.type)).filter((t) => t.startsWith('aws_')));
    const unclassified = [...types].filter((t) => !TAGGABLE_AWS_TYPES.has(t) && !UNTAGGABLE_AWS_TYPES.has(t));
    expect(unclassified).toEqual([]);
  });

  test('the AWS stacks carry the provider default tags that the TAG rules merge in', () => {
    for (const input of inputs.filter((i) => i.kind === 'platform' || i.kind === 'data')) {
      expect(Object.keys(input.providerDefaultTags ?? {})).toContain('aws');
    }
  });
});
