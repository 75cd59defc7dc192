/**
 * The region's ECR repositories for the images this repo builds: immutable tags (a deployed tag
 * always means the same image), scan on push, encryption with a customer-managed key, and a
 * lifecycle policy that keeps storage bounded without touching what might still be deployed.
 */
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { Construct } from 'constructs';

export interface ContainerRegistryProps {
  /**
   * Repositories by a stable key (`api`) to their name (`restaurant/api`). The key names the
   * construct, so it must never change; the name is the repository's identity in ECR.
   */
  readonly repositories: Readonly<Record<string, string>>;
  /** Alias of the registry's KMS key, without `alias/`. */
  readonly keyAliasName: string;
  /**
   * Tagged images kept per repository, newest first; older ones expire. Releases deployed to a
   * location are among the newest, so keep well above the number of releases a rollback may need.
   * @default 50
   */
  readonly keepTaggedImages?: number;
  /** Untagged images (layers of superseded builds) expire after this many days. @default 7 */
  readonly untaggedExpiryDays?: number;
}

const REPOSITORY_KEY_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;
/** ECR's repository-name grammar. */
const REPOSITORY_NAME_PATTERN = /^(?=.{2,256}$)[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

/** The lifecycle policy document: untagged images first, then the count of tagged ones. */
export function lifecyclePolicyDocument(keepTaggedImages: number, untaggedExpiryDays: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `Expire untagged images after ${untaggedExpiryDays} days`,
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: untaggedExpiryDays },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: `Keep the newest ${keepTaggedImages} tagged images`,
        selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: keepTaggedImages },
        action: { type: 'expire' },
      },
    ],
  });
}

export class ContainerRegistry extends Construct {
  readonly key: KmsKey;
  private readonly repositoriesByKey: ReadonlyMap<string, EcrRepository>;

  constructor(scope: Construct, id: string, props: ContainerRegistryProps) {
    super(scope, id);
    const keepTaggedImages = props.keepTaggedImages ?? 50;
    const untaggedExpiryDays = props.untaggedExpiryDays ?? 7;
    validate(id, props, keepTaggedImages, untaggedExpiryDays);

    // ECR creates the grants it needs with the caller's permissions, so the default key policy
    // (the account's IAM policies decide) is enough; nodes pull through ECR, not through KMS.
    this.key = new KmsKey(this, 'key', {
      description: `ECR image encryption (${props.keyAliasName})`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    new KmsAlias(this, 'key-alias', { name: `alias/${props.keyAliasName}`, targetKeyId: this.key.keyId });

    const lifecyclePolicy = lifecyclePolicyDocument(keepTaggedImages, untaggedExpiryDays);
    const repositories = new Map<string, EcrRepository>();
    for (const [key, name] of Object.entries(props.repositories).sort(([a], [b]) => a.localeCompare(b))) {
      const repository = new EcrRepository(this, `repository-${key}`, {
        name,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: this.key.arn }],
        // Deleting the stack must not silently delete released images.
        forceDelete: false,
      });
      new EcrLifecyclePolicy(this, `lifecycle-policy-${key}`, { repository: repository.name, policy: lifecyclePolicy });
      repositories.set(key, repository);
    }
    this.repositoriesByKey = repositories;
  }

  /** The repository registered under `key`. */
  repository(key: string): EcrRepository {
    const repository = this.repositoriesByKey.get(key);
    if (!repository) {
      throw new Error(`repository key must be one of ${[...this.repositoriesByKey.keys()].join(', ')}, got "${key}" (registry "${this.node.id}")`);
    }
    return repository;
  }
}

function validate(id: string, props: ContainerRegistryProps, keepTaggedImages: number, untaggedExpiryDays: number): void {
  const entries = Object.entries(props.repositories);
  if (entries.length === 0) {
    throw new Error(`repositories must name at least one repository, got none (registry "${id}")`);
  }
  for (const [key, name] of entries) {
    if (!REPOSITORY_KEY_PATTERN.test(key)) {
      throw new Error(`repositories keys must be 1-31 lowercase letters, digits or - starting with a letter, got "${key}" (registry "${id}")`);
    }
    if (!REPOSITORY_NAME_PATTERN.test(name)) {
      throw new Error(
        `repositories.${key} must be an ECR repository name (2-256 lowercase letters, digits, ._- and / between parts), got "${name}" (registry "${id}")`,
      );
    }
  }
  if (!Number.isInteger(keepTaggedImages) || keepTaggedImages < 1 || keepTaggedImages > 1000) {
    throw new Error(`keepTaggedImages must be an integer 1..1000, got ${keepTaggedImages} (registry "${id}")`);
  }
  if (!Number.isInteger(untaggedExpiryDays) || untaggedExpiryDays < 1 || untaggedExpiryDays > 365) {
    throw new Error(`untaggedExpiryDays must be an integer 1..365, got ${untaggedExpiryDays} (registry "${id}")`);
  }
}
