/**
 * ECR pull-through cache rules for the public registries our third-party images come from, so
 * nodes pull them from the region's ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/...`)
 * instead of anonymously from Docker Hub, whose per-address pull limit the NAT gateways' few
 * addresses share with everything else in the VPC. ECR fetches an image from upstream on its
 * first pull, from AWS addresses, and checks the upstream tag again at most once every 24 hours.
 *
 * Only upstreams that need no credentials (no Secrets Manager secret to rotate): Amazon ECR
 * Public, the Kubernetes registry and Quay. NGINX publishes the nginx-unprivileged and
 * nginx-prometheus-exporter images on ECR Public (gallery.ecr.aws/nginx/...) besides Docker Hub.
 *
 * The repositories ECR creates on a first pull get their settings from a repository creation
 * template per prefix: untagged images (a tag moved upstream) expire, tags stay mutable so the
 * cache can follow upstream rebuilds of a tag, and encryption is AES-256 (the images are public;
 * a customer key would need a role that ECR assumes for every new repository).
 *
 * Pulling through the cache needs more than `AmazonEC2ContainerRegistryReadOnly`: the first pull
 * of an image creates its repository and imports the image as the caller, which needs
 * `ecr:CreateRepository` and `ecr:BatchImportUpstreamImage` ("IAM permissions required to sync an
 * upstream registry with an Amazon ECR private registry", Amazon ECR User Guide). `grantPull`
 * gives exactly these, on the cache's prefixes.
 *
 * AWS limits: pull-through cache rules are not available in the China and GovCloud regions; a
 * registry holds at most 10 rules (we use 3); a prefix is 2-30 characters.
 */
import { EcrPullThroughCacheRule } from '@cdktf/provider-aws/lib/ecr-pull-through-cache-rule';
import { EcrRepositoryCreationTemplate } from '@cdktf/provider-aws/lib/ecr-repository-creation-template';
import type { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { Construct } from 'constructs';
import { policyDocument } from './app-service-role';

/**
 * The upstream registries, by the stable key the platform outputs use, with the ECR repository
 * prefix their images are cached under. The key names constructs and outputs and the prefix names
 * repositories: changing either replaces the rule and empties the cache.
 */
export const UPSTREAM_REGISTRIES = {
  ecrPublic: { url: 'public.ecr.aws', prefix: 'ecr-public' },
  kubernetes: { url: 'registry.k8s.io', prefix: 'k8s' },
  quay: { url: 'quay.io', prefix: 'quay' },
} as const;
export type UpstreamRegistry = keyof typeof UPSTREAM_REGISTRIES;

/** Per upstream registry, where its images are pulled through: `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>`. */
export type PullThroughCacheUrls = Readonly<Record<UpstreamRegistry, string>>;

const IMAGE_PATTERN = /^([a-z0-9.-]+\.[a-z]{2,})\/([a-z0-9._/-]+):([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/;

/**
 * Where a pinned upstream image (`public.ecr.aws/nginx/nginx-unprivileged:1.28.0-alpine`) is
 * pulled from: through the cache of its registry when `cacheUrls` are given, else from upstream.
 * Fails for an image without a registry host and tag, or from a registry the cache does not serve.
 */
export function cachedImage(image: string, cacheUrls?: PullThroughCacheUrls): string {
  const match = IMAGE_PATTERN.exec(image);
  const registries = Object.values(UPSTREAM_REGISTRIES).map((r) => r.url);
  if (!match) {
    throw new Error(`image must be <registry host>/<repository>:<tag> (a pinned tag from one of ${registries.join(', ')}), got "${image}"`);
  }
  const [, host, repository, tag] = match;
  const upstream = (Object.keys(UPSTREAM_REGISTRIES) as UpstreamRegistry[]).find((key) => UPSTREAM_REGISTRIES[key].url === host);
  if (!upstream) {
    throw new Error(`image must come from a registry the pull-through cache serves (${registries.join(', ')}), got "${image}"`);
  }
  return cacheUrls ? `${cacheUrls[upstream]}/${repository}:${tag}` : image;
}

export interface ImagePullThroughCacheProps {
  /** The region of the registry (the platform stack's). */
  readonly region: string;
  /**
   * AWS partition, for the ARNs of the cached repositories.
   * @default 'aws'
   */
  readonly partition?: string;
  /**
   * Untagged cached images (superseded when a tag moved upstream) expire after this many days;
   * nodes that still run one keep it in their local image store.
   * @default 14
   */
  readonly untaggedExpiryDays?: number;
}

/** Regions where ECR offers no pull-through cache rules (Amazon ECR User Guide, "Considerations"). */
const UNSUPPORTED_REGION = /^(cn-|us-gov-)/;

export class ImagePullThroughCache extends Construct {
  readonly rules: Readonly<Record<UpstreamRegistry, EcrPullThroughCacheRule>>;
  readonly templates: Readonly<Record<UpstreamRegistry, EcrRepositoryCreationTemplate>>;
  /** What pods use as the registry part of a cached image's name. */
  readonly urls: PullThroughCacheUrls;
  private readonly region: string;
  private readonly partition: string;

  constructor(scope: Construct, id: string, props: ImagePullThroughCacheProps) {
    super(scope, id);
    const untaggedExpiryDays = props.untaggedExpiryDays ?? 14;
    if (UNSUPPORTED_REGION.test(props.region)) {
      throw new Error(`region must be one where ECR offers pull-through cache rules (not China or GovCloud), got "${props.region}" (construct "${id}")`);
    }
    if (!Number.isInteger(untaggedExpiryDays) || untaggedExpiryDays < 1 || untaggedExpiryDays > 365) {
      throw new Error(`untaggedExpiryDays must be an integer 1..365, got ${untaggedExpiryDays} (construct "${id}")`);
    }
    this.region = props.region;
    this.partition = props.partition ?? 'aws';

    const keys = Object.keys(UPSTREAM_REGISTRIES) as UpstreamRegistry[];
    const rules = {} as Record<UpstreamRegistry, EcrPullThroughCacheRule>;
    const templates = {} as Record<UpstreamRegistry, EcrRepositoryCreationTemplate>;
    const urls = {} as Record<UpstreamRegistry, string>;
    for (const key of keys) {
      const { url, prefix } = UPSTREAM_REGISTRIES[key];
      rules[key] = new EcrPullThroughCacheRule(this, `rule-${key}`, { ecrRepositoryPrefix: prefix, upstreamRegistryUrl: url });
      templates[key] = new EcrRepositoryCreationTemplate(this, `template-${key}`, {
        prefix,
        appliedFor: ['PULL_THROUGH_CACHE'],
        description: `Repositories of images cached from ${url}`,
        // The cache updates a tag when it moves upstream; immutable tags would pin the first copy.
        imageTagMutability: 'MUTABLE',
        encryptionConfiguration: [{ encryptionType: 'AES256' }],
        lifecyclePolicy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `Expire untagged cached images after ${untaggedExpiryDays} days`,
              selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: untaggedExpiryDays },
              action: { type: 'expire' },
            },
          ],
        }),
      });
      // registry_id is the account: the host pods pull from, known once the rule exists.
      urls[key] = `${rules[key].registryId}.dkr.ecr.${props.region}.amazonaws.com/${rules[key].ecrRepositoryPrefix}`;
    }
    this.rules = rules;
    this.templates = templates;
    this.urls = urls;
  }

  /**
   * Lets a role (the nodes' role: the kubelet pulls images with it) pull images through the cache
   * for the first time: create the prefix's repositories and import upstream images into them.
   * Reading cached images is `AmazonEC2ContainerRegistryReadOnly`'s part.
   */
  grantPull(role: IamRole): IamRolePolicy {
    const rules = Object.values(this.rules);
    // Named by the role's place in the tree: node groups each have a child called `role`.
    const grantee = role.node.path.split('/').slice(1).join('-');
    return new IamRolePolicy(this, `grant-pull-${grantee}`, {
      role: role.name,
      name: 'ecr-pull-through-cache',
      policy: policyDocument([
        {
          Sid: 'PullThroughCacheFirstPull',
          Effect: 'Allow',
          Action: ['ecr:CreateRepository', 'ecr:BatchImportUpstreamImage'],
          Resource: rules.map((rule) => `arn:${this.partition}:ecr:${this.region}:${rule.registryId}:repository/${rule.ecrRepositoryPrefix}/*`),
        },
      ]),
    });
  }
}
