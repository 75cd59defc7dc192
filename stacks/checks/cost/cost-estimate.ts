/**
 * A monthly cost estimate of a stack from its planned resources (instance classes, node counts,
 * storage) and the dated price table. It is an estimate: usage-based charges (data transfer,
 * CloudFront, S3 requests, load balancer capacity units, logs, snapshots) are left out and listed.
 */
import type { PolicyResource } from '../policy/policy-types';
import { blocks } from '../policy/policy-resources';
import { HOURS_PER_MONTH, PRICE_TABLE, type PriceTable } from './price-table';

export interface CostLine {
  readonly item: string;
  readonly monthlyUsd: number;
}

export interface CostEstimate {
  readonly monthlyUsd: number;
  readonly lines: readonly CostLine[];
  /** Resources with a fixed price the table lacks (region or instance type). */
  readonly unpriced: readonly string[];
}

export const USAGE_BASED_EXCLUSIONS = 'data transfer, CloudFront requests, S3 storage and requests, NLB capacity units, CloudWatch Logs, backups beyond the free allowance';

const round = (n: number) => Math.round(n * 100) / 100;

export function estimateMonthlyCost(resources: readonly PolicyResource[], region: string, prices: PriceTable = PRICE_TABLE): CostEstimate {
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const hourly = (table: Readonly<Record<string, Readonly<Record<string, number>>>>, key: string, what: string): number | undefined => {
    const price = table[key]?.[region];
    if (price === undefined) unpriced.push(`${what} ${key} in ${region}`);
    return price;
  };
  const perRegion = (table: Readonly<Record<string, number>>, what: string): number | undefined => {
    const price = table[region];
    if (price === undefined) unpriced.push(`${what} in ${region}`);
    return price;
  };

  for (const r of resources) {
    const v = r.values;
    switch (r.type) {
      case 'aws_db_instance': {
        const cls = String(v.instance_class);
        const azFactor = v.multi_az === true ? 2 : 1;
        const instance = hourly(prices.rdsInstanceHour, cls, 'RDS');
        if (instance !== undefined) lines.push({ item: `RDS ${cls}${azFactor === 2 ? ' Multi-AZ' : ''} (${r.address})`, monthlyUsd: instance * azFactor * HOURS_PER_MONTH });
        const storage = perRegion(prices.rdsGp3GiBMonth, 'RDS gp3 storage');
        const gib = Number(v.allocated_storage ?? 0);
        if (storage !== undefined && gib > 0) lines.push({ item: `RDS storage ${gib} GiB (${r.address})`, monthlyUsd: storage * gib * azFactor });
        break;
      }
      case 'aws_elasticache_replication_group': {
        const nodes = Number(v.num_cache_clusters ?? 1);
        const price = hourly(prices.cacheNodeHour, String(v.node_type), 'ElastiCache');
        if (price !== undefined) lines.push({ item: `ElastiCache ${nodes} x ${String(v.node_type)}`, monthlyUsd: price * nodes * HOURS_PER_MONTH });
        break;
      }
      case 'aws_eks_cluster': {
        const price = perRegion(prices.eksClusterHour, 'EKS control plane');
        if (price !== undefined) lines.push({ item: 'EKS control plane', monthlyUsd: price * HOURS_PER_MONTH });
        break;
      }
      case 'aws_eks_node_group': {
        const scaling = blocks(v.scaling_config)[0] ?? {};
        const nodes = Number(scaling.desired_size ?? scaling.min_size ?? 0);
        const type = String((v.instance_types as string[] | undefined)?.[0] ?? 'unknown');
        const price = hourly(prices.ec2InstanceHour, type, 'EC2');
        // One line per group: the platform has one node group per availability zone.
        const what = typeof v.node_group_name === 'string' ? `EKS node group ${v.node_group_name}:` : 'EKS nodes';
        if (price !== undefined) lines.push({ item: `${what} ${nodes} x ${type} (desired; autoscaled)`, monthlyUsd: price * nodes * HOURS_PER_MONTH });
        break;
      }
      case 'aws_nat_gateway': {
        const price = perRegion(prices.natGatewayHour, 'NAT gateway');
        if (price !== undefined) lines.push({ item: `NAT gateway (${r.address})`, monthlyUsd: price * HOURS_PER_MONTH });
        break;
      }
      case 'kubernetes_service_v1': {
        const spec = blocks(v.spec)[0] ?? {};
        if (spec.type === 'LoadBalancer') {
          const price = perRegion(prices.nlbHour, 'NLB');
          if (price !== undefined) lines.push({ item: `Network Load Balancer (${r.address})`, monthlyUsd: price * HOURS_PER_MONTH });
        }
        break;
      }
      case 'aws_kms_key':
        lines.push({ item: `KMS key (${r.address})`, monthlyUsd: prices.kmsKeyMonth });
        break;
      case 'aws_cloudwatch_metric_alarm':
        lines.push({ item: 'CloudWatch alarm', monthlyUsd: prices.cloudwatchAlarmMonth });
        break;
      case 'aws_secretsmanager_secret':
        lines.push({ item: `Secrets Manager secret (${r.address})`, monthlyUsd: prices.secretMonth });
        break;
      default:
        break;
    }
  }
  // Alarms are many and cheap: one line for all of them keeps the summary readable.
  const alarms = lines.filter((l) => l.item === 'CloudWatch alarm');
  const merged = lines.filter((l) => l.item !== 'CloudWatch alarm');
  if (alarms.length > 0) merged.push({ item: `CloudWatch alarms x${alarms.length}`, monthlyUsd: alarms.length * prices.cloudwatchAlarmMonth });
  const rounded = merged.map((l) => ({ item: l.item, monthlyUsd: round(l.monthlyUsd) }));
  return { monthlyUsd: round(rounded.reduce((s, l) => s + l.monthlyUsd, 0)), lines: rounded, unpriced };
}
