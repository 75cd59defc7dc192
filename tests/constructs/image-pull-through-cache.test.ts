import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { TerraformOutput } from '../../stacks/infra/cdktf';
import {
  cachedImage,
  ImagePullThroughCache,
  type ImagePullThroughCacheProps,
  UPSTREAM_REGISTRIES,
} from '../../stacks/infra/constructs/image-pull-through-cache';
import { constructStacks } from '../support/stacks/platform-fixtures';
import { parsePolicy, refTo, resourceAt, resourcesOfType, synthJson } from '../support/stacks/synth-json';

const URLS = {
  ecrPublic: '111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/ecr-public',
  kubernetes: '111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/k8s',
  quay: '111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/quay',
};

describe('ImagePullThroughCache', () => {
  const newStack = constructStacks();

  function build(props: Partial<ImagePullThroughCacheProps> = {}) {
    const stack = newStack();
    const cache = new ImagePullThroughCache(stack, 'image-cache', { region: 'ap-southeast-1', ...props });
    return { stack, cache };
  }

  const { stack, cache } = build();
  const nodeRole = new IamRole(stack, 'role', { name: 'test-nodes', assumeRolePolicy: '{}' });
  cache.grantPull(nodeRole);
  new TerraformOutput(stack, 'urls', { value: cache.urls });
  const json = synthJson(stack);

  describe('defaults', () => {
    test('one rule per upstream that needs no credentials: ECR Public, registry.k8s.io, Quay', () => {
      const rules = Object.values(resourcesOfType(json, 'aws_ecr_pull_through_cache_rule'));
      expect(rules).toEqual([
        { ecr_repository_prefix: 'ecr-public', upstream_registry_url: 'public.ecr.aws' },
        { ecr_repository_prefix: 'k8s', upstream_registry_url: 'registry.k8s.io' },
        { ecr_repository_prefix: 'quay', upstream_registry_url: 'quay.io' },
      ]);
      // No credential: none of these upstreams needs a Secrets Manager secret.
      for (const rule of rules) expect(rule).not.toHaveProperty('credential_arn');
    });

    test('repositories created on a first pull keep tags mutable, are encrypted, and drop untagged images after 14 days', () => {
      for (const key of Object.keys(UPSTREAM_REGISTRIES)) {
        const template = resourceAt(json, stack, `image-cache/template-${key}`);
        expect(template).toMatchObject({
          prefix: UPSTREAM_REGISTRIES[key as keyof typeof UPSTREAM_REGISTRIES].prefix,
          applied_for: ['PULL_THROUGH_CACHE'],
          image_tag_mutability: 'MUTABLE',
          encryption_configuration: [{ encryption_type: 'AES256' }],
        });
        expect(template).not.toHaveProperty('custom_role_arn');
        expect(JSON.parse(template.lifecycle_policy).rules).toEqual([
          expect.objectContaining({ selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }),
        ]);
      }
    });
  });

  describe('errors', () => {
    test.each(['cn-north-1', 'us-gov-west-1'])('fails when the region is %s (ECR offers no pull-through cache rules there)', (region) => {
      expect(() => build({ region })).toThrow(
        new Error(`region must be one where ECR offers pull-through cache rules (not China or GovCloud), got "${region}" (construct "image-cache")`),
      );
    });

    test('fails when untaggedExpiryDays is 0', () => {
      expect(() => build({ untaggedExpiryDays: 0 })).toThrow(new Error('untaggedExpiryDays must be an integer 1..365, got 0 (construct "image-cache")'));
    });

    test('fails when an image has no registry host or no tag', () => {
      expect(() => cachedImage('nginx/nginx-prometheus-exporter:1.4.2', URLS)).toThrow(
        new Error('image must be <registry host>/<repository>:<tag> (a pinned tag from one of public.ecr.aws, registry.k8s.io, quay.io), got "nginx/nginx-prometheus-exporter:1.4.2"'),
      );
      expect(() => cachedImage('public.ecr.aws/nginx/nginx-unprivileged', URLS)).toThrow(/^image must be <registry host>\/<repository>:<tag> /);
    });

    test('fails when an image comes from a registry the cache does not serve (Docker Hub needs credentials)', () => {
      expect(() => cachedImage('docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine', URLS)).toThrow(
        new Error('image must come from a registry the pull-through cache serves (public.ecr.aws, registry.k8s.io, quay.io), got "docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine"'),
      );
    });
  });

  describe('behaviour', () => {
    test('urls are <account>.dkr.ecr.<region>.amazonaws.com/<prefix>, the account read from the rule', () => {
      expect(json.output?.urls?.value).toEqual({
        ecrPublic: `${refTo(stack, 'image-cache/rule-ecrPublic', 'registry_id')}.dkr.ecr.ap-southeast-1.amazonaws.com/${refTo(stack, 'image-cache/rule-ecrPublic', 'ecr_repository_prefix')}`,
        kubernetes: `${refTo(stack, 'image-cache/rule-kubernetes', 'registry_id')}.dkr.ecr.ap-southeast-1.amazonaws.com/${refTo(stack, 'image-cache/rule-kubernetes', 'ecr_repository_prefix')}`,
        quay: `${refTo(stack, 'image-cache/rule-quay', 'registry_id')}.dkr.ecr.ap-southeast-1.amazonaws.com/${refTo(stack, 'image-cache/rule-quay', 'ecr_repository_prefix')}`,
      });
    });

    test('grantPull lets a role create and fill the cache repositories on a first pull, under the cache prefixes only', () => {
      const grant = resourceAt(json, stack, 'image-cache/grant-pull-role');
      expect(grant).toMatchObject({ role: refTo(stack, 'role', 'name'), name: 'ecr-pull-through-cache' });
      expect(parsePolicy(grant.policy).Statement).toEqual([
        {
          Sid: 'PullThroughCacheFirstPull',
          Effect: 'Allow',
          Action: ['ecr:CreateRepository', 'ecr:BatchImportUpstreamImage'],
          Resource: ['ecrPublic', 'kubernetes', 'quay'].map(
            (key) => `arn:aws:ecr:ap-southeast-1:${refTo(stack, `image-cache/rule-${key}`, 'registry_id')}:repository/${refTo(stack, `image-cache/rule-${key}`, 'ecr_repository_prefix')}/*`,
          ),
        },
      ]);
    });

    test('grants to ARNs of the partition given', () => {
      const other = build({ partition: 'aws-us-gov-like', region: 'eu-west-2' });
      other.cache.grantPull(new IamRole(other.stack, 'role', { name: 'r', assumeRolePolicy: '{}' }));
      const policy = parsePolicy(resourceAt(synthJson(other.stack), other.stack, 'image-cache/grant-pull-role').policy);
      expect(policy.Statement[0].Resource[0]).toMatch(/^arn:aws-us-gov-like:ecr:eu-west-2:/);
    });

    test.each([
      ['public.ecr.aws/nginx/nginx-unprivileged:1.28.0-alpine', `${URLS.ecrPublic}/nginx/nginx-unprivileged:1.28.0-alpine`],
      ['registry.k8s.io/metrics-server/metrics-server:v0.7.2', `${URLS.kubernetes}/metrics-server/metrics-server:v0.7.2`],
      ['quay.io/prometheus/node-exporter:v1.8.2', `${URLS.quay}/prometheus/node-exporter:v1.8.2`],
    ])('cachedImage(%s) pulls through the cache of its registry, keeping repository and tag', (image, expected) => {
      expect(cachedImage(image, URLS)).toBe(expected);
    });

    test('without cache urls an image is pulled from its upstream registry as written', () => {
      expect(cachedImage('public.ecr.aws/nginx/nginx-unprivileged:1.28.0-alpine')).toBe('public.ecr.aws/nginx/nginx-unprivileged:1.28.0-alpine');
    });
  });
});
