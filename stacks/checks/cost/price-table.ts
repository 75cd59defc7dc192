/**
 * On-demand list prices used for plan-time cost estimates, in USD. Kept in the repo so estimates
 * are reproducible and reviewable; refresh them from the AWS price list when they age (the plan
 * summary prints `PRICES_AS_OF`). Regions or instance types missing here are reported as
 * unpriced, never guessed.
 */
export const PRICES_AS_OF = '2026-11-01';
export const HOURS_PER_MONTH = 730;

type RegionPrices = Readonly<Record<string, number>>;

export interface PriceTable {
  /** RDS for PostgreSQL, per instance-hour, single-AZ (Multi-AZ doubles it). */
  readonly rdsInstanceHour: Readonly<Record<string, RegionPrices>>;
  /** RDS gp3 storage per GiB-month, single-AZ. */
  readonly rdsGp3GiBMonth: RegionPrices;
  /** ElastiCache (Redis OSS) per node-hour. */
  readonly cacheNodeHour: Readonly<Record<string, RegionPrices>>;
  /** EC2 Linux per instance-hour (EKS managed nodes). */
  readonly ec2InstanceHour: Readonly<Record<string, RegionPrices>>;
  readonly eksClusterHour: RegionPrices;
  readonly natGatewayHour: RegionPrices;
  /** Network Load Balancer per hour, without LCU charges (usage-based). */
  readonly nlbHour: RegionPrices;
  readonly kmsKeyMonth: number;
  readonly cloudwatchAlarmMonth: number;
  readonly secretMonth: number;
}

export const PRICE_TABLE: PriceTable = {
  rdsInstanceHour: {
    'db.t4g.medium': { 'us-east-1': 0.065, 'eu-west-2': 0.072, 'ap-southeast-1': 0.08 },
    'db.r6g.large': { 'us-east-1': 0.225, 'eu-west-2': 0.252, 'ap-southeast-1': 0.276 },
    'db.r6g.xlarge': { 'us-east-1': 0.449, 'eu-west-2': 0.504, 'ap-southeast-1': 0.552 },
    'db.r6g.2xlarge': { 'us-east-1': 0.898, 'eu-west-2': 1.008, 'ap-southeast-1': 1.104 },
  },
  rdsGp3GiBMonth: { 'us-east-1': 0.115, 'eu-west-2': 0.133, 'ap-southeast-1': 0.138 },
  cacheNodeHour: {
    'cache.t4g.small': { 'us-east-1': 0.032, 'eu-west-2': 0.036, 'ap-southeast-1': 0.04 },
    'cache.r6g.large': { 'us-east-1': 0.206, 'eu-west-2': 0.232, 'ap-southeast-1': 0.26 },
    'cache.r6g.xlarge': { 'us-east-1': 0.411, 'eu-west-2': 0.464, 'ap-southeast-1': 0.519 },
  },
  ec2InstanceHour: {
    'm6i.xlarge': { 'us-east-1': 0.192, 'eu-west-2': 0.222, 'ap-southeast-1': 0.232 },
    'm5.xlarge': { 'us-east-1': 0.192, 'eu-west-2': 0.222, 'ap-southeast-1': 0.24 },
  },
  eksClusterHour: { 'us-east-1': 0.1, 'eu-west-2': 0.1, 'ap-southeast-1': 0.1 },
  natGatewayHour: { 'us-east-1': 0.045, 'eu-west-2': 0.05, 'ap-southeast-1': 0.059 },
  nlbHour: { 'us-east-1': 0.0225, 'eu-west-2': 0.02646, 'ap-southeast-1': 0.0252 },
  kmsKeyMonth: 1,
  cloudwatchAlarmMonth: 0.1,
  secretMonth: 0.4,
};
