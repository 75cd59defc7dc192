/** Every policy rule, in the order reports list them. */
import type { PolicyRule } from '../policy-types';
import { CLOUDFRONT_RULES } from './cloudfront';
import { ECR_RULES } from './ecr';
import { EKS_RULES } from './eks';
import { ELASTICACHE_RULES } from './elasticache';
import { KUBERNETES_RULES } from './kubernetes';
import { RDS_RULES } from './rds';
import { S3_RULES } from './s3';
import { TAGGING_RULES } from './tagging';
import { VPC_RULES } from './vpc';

export const ALL_RULES: readonly PolicyRule[] = [
  ...RDS_RULES,
  ...ELASTICACHE_RULES,
  ...S3_RULES,
  ...CLOUDFRONT_RULES,
  ...EKS_RULES,
  ...ECR_RULES,
  ...VPC_RULES,
  ...KUBERNETES_RULES,
  ...TAGGING_RULES,
];

export const RULE_IDS: readonly string[] = ALL_RULES.map((rule) => rule.id);
