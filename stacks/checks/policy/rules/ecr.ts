/** ECR repositories (`aws_ecr_repository`): where the platform's own images live. */
import type { PolicyRule } from '../policy-types';
import { AWS_STACKS, eachResource, first, isSet, isTrue, plannedWithoutConfiguration, shown } from './helpers';

const REPOSITORY = ['aws_ecr_repository'];

export const ECR_RULES: readonly PolicyRule[] = [
  {
    id: 'ECR-001',
    title: 'ECR repositories have immutable tags',
    checkov: 'CKV_AWS_51',
    trivy: 'AVD-AWS-0031',
    appliesTo: AWS_STACKS,
    // Absent means "MUTABLE" (provider default). Deployments pin tags (K8S-007); immutable tags make
    // a pinned tag mean one image.
    evaluate: eachResource(REPOSITORY, (_r, values) =>
      values.image_tag_mutability === 'IMMUTABLE'
        ? undefined
        : `image_tag_mutability is ${shown(values.image_tag_mutability, '"MUTABLE"')}; set it to "IMMUTABLE" so a tag always names the same image`,
    ),
  },
  {
    id: 'ECR-002',
    title: 'ECR repositories scan images on push',
    checkov: 'CKV_AWS_163',
    trivy: 'AVD-AWS-0030',
    appliesTo: AWS_STACKS,
    // image_scanning_configuration absent means no scanning.
    evaluate: eachResource(REPOSITORY, (_r, values) => {
      const scanOnPush = first(values.image_scanning_configuration).scan_on_push;
      return isTrue(scanOnPush) ? undefined : `image_scanning_configuration.scan_on_push is ${shown(scanOnPush, 'false')}; scan every pushed image`;
    }),
  },
  {
    id: 'ECR-003',
    title: 'ECR repositories are encrypted with a customer-managed KMS key',
    checkov: 'CKV_AWS_136',
    trivy: 'AVD-AWS-0033',
    appliesTo: AWS_STACKS,
    // encryption_configuration absent means AES256. The key is a reference, unknown at plan time:
    // its configured expression counts; a plan without configuration is not judged on it.
    evaluate: eachResource(REPOSITORY, (resource, values, input) => {
      const encryption = first(values.encryption_configuration);
      if (encryption.encryption_type !== 'KMS') {
        return `encryption_configuration.encryption_type is ${shown(encryption.encryption_type, '"AES256"')}; use "KMS" with a customer-managed key`;
      }
      if (isSet(encryption.kms_key) || plannedWithoutConfiguration(input, resource)) return undefined;
      return 'encryption_configuration.kms_key is not set (AWS-managed key); name the registry\'s customer-managed KMS key';
    }),
  },
];
