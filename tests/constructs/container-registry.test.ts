import { ContainerRegistry, type ContainerRegistryProps, lifecyclePolicyDocument } from '../../stacks/infra/constructs/container-registry';
import { constructStacks } from '../support/stacks/platform-fixtures';
import { refTo, resourceAt, resourcesOfType, synthJson } from '../support/stacks/synth-json';

describe('ContainerRegistry', () => {
  const newStack = constructStacks();

  function build(props: Partial<ContainerRegistryProps> = {}) {
    const stack = newStack();
    const registry = new ContainerRegistry(stack, 'registry', {
      repositories: { api: 'restaurant/api', ws: 'restaurant/ws' },
      keyAliasName: 'restaurant-test/ecr',
      ...props,
    });
    return { stack, registry };
  }

  const { stack, registry } = build();
  const json = synthJson(stack);

  describe('defaults', () => {
    test.each(['api', 'ws'])('repository %s: immutable tags, scan on push, KMS with the registry key', (key) => {
      expect(resourceAt(json, stack, `registry/repository-${key}`)).toEqual(
        expect.objectContaining({
          name: `restaurant/${key}`,
          image_tag_mutability: 'IMMUTABLE',
          image_scanning_configuration: { scan_on_push: true },
          encryption_configuration: [{ encryption_type: 'KMS', kms_key: refTo(stack, 'registry/key', 'arn') }],
          force_delete: false,
        }),
      );
    });

    test('a rotating key with an alias', () => {
      expect(resourceAt(json, stack, 'registry/key')).toMatchObject({ enable_key_rotation: true });
      expect(resourceAt(json, stack, 'registry/key-alias')).toMatchObject({ name: 'alias/restaurant-test/ecr' });
    });

    test('expires untagged images after 7 days and keeps the newest 50 tagged ones', () => {
      const policy = JSON.parse(resourceAt(json, stack, 'registry/lifecycle-policy-api').policy);
      expect(policy.rules.map((r: { selection: unknown }) => r.selection)).toEqual([
        { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
        { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 50 },
      ]);
      expect(resourceAt(json, stack, 'registry/lifecycle-policy-ws').repository).toBe(refTo(stack, 'registry/repository-ws', 'name'));
    });
  });

  describe('behaviour', () => {
    test('repository(key) returns the repository for the outputs', () => {
      expect(registry.repository('api').nameInput).toBe('restaurant/api');
      expect(registry.repository('ws').nameInput).toBe('restaurant/ws');
      expect(Object.keys(resourcesOfType(json, 'aws_ecr_repository'))).toHaveLength(2);
    });

    test.each([
      [10, 3],
      [500, 30],
    ])('lifecyclePolicyDocument keeps %i tagged images and expires untagged after %i days', (keep, days) => {
      const rules = JSON.parse(lifecyclePolicyDocument(keep, days)).rules;
      expect(rules[0]).toMatchObject({ rulePriority: 1, selection: { countNumber: days }, action: { type: 'expire' } });
      expect(rules[1]).toMatchObject({ rulePriority: 2, selection: { countNumber: keep }, action: { type: 'expire' } });
    });
  });

  describe('errors', () => {
    test('fails when repository() is asked for an unknown key', () => {
      expect(() => registry.repository('web')).toThrow('repository key must be one of api, ws, got "web" (registry "registry")');
    });

    test('fails when no repository is named', () => {
      expect(() => build({ repositories: {} })).toThrow('repositories must name at least one repository, got none (registry "registry")');
    });

    test.each(['Restaurant/API', 'restaurant//api', 'a', '-api'])('fails when a repository name is "%s"', (name) => {
      expect(() => build({ repositories: { api: name } })).toThrow(
        `repositories.api must be an ECR repository name (2-256 lowercase letters, digits, ._- and / between parts), got "${name}" (registry "registry")`,
      );
    });

    test('fails when a repository key is not a lowercase id', () => {
      expect(() => build({ repositories: { Api: 'restaurant/api' } })).toThrow(
        'repositories keys must be 1-31 lowercase letters, digits or - starting with a letter, got "Api" (registry "registry")',
      );
    });

    test('fails when keepTaggedImages is 0', () => {
      expect(() => build({ keepTaggedImages: 0 })).toThrow('keepTaggedImages must be an integer 1..1000, got 0 (registry "registry")');
    });

    test('fails when untaggedExpiryDays is fractional', () => {
      expect(() => build({ untaggedExpiryDays: 1.5 })).toThrow('untaggedExpiryDays must be an integer 1..365, got 1.5 (registry "registry")');
    });
  });
});
