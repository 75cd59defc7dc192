/**
 * Which planned changes restart or fail over a database or cache node, and when AWS applies them.
 *
 * AWS holds most changes to an RDS instance or an ElastiCache replication group for the weekly
 * maintenance window unless the request says `ApplyImmediately` (Terraform's `apply_immediately`,
 * a per-location choice: `applyChanges` in the location file). Some changes ignore that flag, some
 * wait for a reboot nobody schedules, and some replace the resource. The tables below say, per
 * attribute, what AWS does; `serviceChanges` applies them to the `resource_changes` of a plan
 * (`terraform show -json`), and the plan summary prints the result per stack.
 *
 * What the tables are based on (AWS documentation, checked against these sources):
 * - RDS: Amazon RDS User Guide, "Modifying an Amazon RDS DB instance", table "Settings for DB
 *   instances" (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.Settings.html;
 *   archived source: github.com/awsdocs/amazon-rds-user-guide, doc_source/Overview.DBInstance.Modifying.md),
 *   columns "When the change occurs" and "Downtime notes". Multi-AZ instance class changes: AWS
 *   Knowledge Center "What factors affect my downtime or database performance in Amazon RDS?"
 *   (the standby is modified first, then a failover, typically 60-120 s). Storage type
 *   conversions: RDS User Guide "Working with storage types" (a short outage when the conversion
 *   starts; a failover on Multi-AZ). Static parameters: "Working with parameter groups" (they
 *   apply after a manual reboot; RDS does not reboot for them).
 * - ElastiCache (Redis OSS, cluster mode disabled): ElastiCache User Guide "Scaling up Redis
 *   clusters with replicas" (github.com/awsdocs/amazon-elasticache-docs,
 *   doc_source/redis/Scaling.RedisReplGrps.ScaleUp.md: new nodes, DNS switch, a few seconds of
 *   interrupted reads and writes when the old nodes go; applied at once or in the next maintenance
 *   window); AWS Knowledge Center "How do I upgrade my Amazon ElastiCache for Redis engine
 *   version": writes pause for the failover, a few seconds; API reference ModifyReplicationGroup
 *   (ApplyImmediately); IncreaseReplicaCount / DecreaseReplicaCount accept only
 *   ApplyImmediately=true, and hashicorp/terraform-provider-aws
 *   internal/service/elasticache/replication_group.go changes `num_cache_clusters` through them
 *   with ApplyImmediately=true, so replica count changes never wait for the window.
 *
 * Attributes not listed here (tags, alarms, backup and maintenance windows, security groups, log
 * exports, Performance Insights, monitoring, deletion protection, ...) apply at once without a
 * restart per the same tables, and are not reported.
 */

/** What a change does to running nodes. */
export type Disruption =
  /** The node is unavailable while AWS changes it (single-AZ instance, or both nodes at once). */
  | 'restart'
  /** A Multi-AZ primary: the standby is changed first, then connections move to it. */
  | 'failover'
  /** New nodes take over; connections to the old ones drop, reads and writes pause seconds. */
  | 'brief interruption'
  /** Nothing restarts now; the new value waits for the next reboot. */
  | 'waits for reboot'
  /** The resource is destroyed and created again. */
  | 'replacement'
  /** A node goes away; its connections drop. */
  | 'removal'
  /** No restart (performance may dip while AWS works). */
  | 'none';

/** When AWS applies a change. */
export type Timing =
  /** During the apply with `apply_immediately`, else in the next maintenance window. */
  | 'apply-immediately-or-window'
  /** During the apply, whatever `apply_immediately` says. */
  | 'during-apply'
  /** At the next reboot of the instance, which nothing schedules. */
  | 'next-reboot';

export interface AttributeImpact {
  readonly disruption: Disruption;
  readonly timing: Timing;
  /** What happens, for the summary. */
  readonly effect: string;
}

/** Values of one resource in a plan (`change.before` / `change.after`). */
type Values = Readonly<Record<string, unknown>>;

/** An impact that depends on the resource (Multi-AZ or not) or on the values before and after. */
type ImpactOf = (before: Values, after: Values) => AttributeImpact;

const fixed = (disruption: Disruption, timing: Timing, effect: string): ImpactOf => () => ({ disruption, timing, effect });
const isMultiAz = (after: Values) => after.multi_az === true;

/**
 * `aws_db_instance`: attributes whose change AWS holds for the maintenance window, restarts or
 * fails over the instance, or defers to a reboot. Source: "Settings for DB instances" (see above).
 */
export const RDS_INSTANCE_IMPACTS: Readonly<Record<string, ImpactOf>> = {
  instance_class: (_before, after) =>
    isMultiAz(after)
      ? { disruption: 'failover', timing: 'apply-immediately-or-window', effect: 'the standby gets the new class first, then a failover (connections drop, typically 60-120 s)' }
      : { disruption: 'restart', timing: 'apply-immediately-or-window', effect: 'the instance is unavailable while it moves to a host of the new class' },
  // Both nodes of a Multi-AZ instance are upgraded together: Multi-AZ does not shorten it.
  engine_version: fixed('restart', 'apply-immediately-or-window', 'the engine is upgraded with the instance down (primary and standby together)'),
  storage_type: (_before, after) =>
    isMultiAz(after)
      ? { disruption: 'failover', timing: 'apply-immediately-or-window', effect: 'the conversion starts with a failover; I/O is slower until it ends (hours)' }
      : { disruption: 'restart', timing: 'apply-immediately-or-window', effect: 'a short outage while the conversion starts; I/O is slower until it ends (hours)' },
  ca_cert_identifier: fixed('restart', 'apply-immediately-or-window', 'the instance restarts to load the new certificate'),
  identifier: fixed('restart', 'apply-immediately-or-window', 'the instance is renamed and restarted: its endpoint host name changes'),
  db_subnet_group_name: fixed('restart', 'apply-immediately-or-window', 'the instance moves to the new subnets with downtime'),
  // "The DB instance is rebooted immediately", apply_immediately or not.
  port: fixed('restart', 'during-apply', 'the instance reboots on the new port at once'),
  backup_retention_period: (before, after) => {
    const on = (v: unknown) => typeof v === 'number' && v > 0;
    if (on(before.backup_retention_period) !== on(after.backup_retention_period)) {
      return { disruption: 'restart', timing: 'apply-immediately-or-window', effect: 'turning automated backups on or off restarts the instance' };
    }
    return { disruption: 'none', timing: 'during-apply', effect: 'a new retention takes effect as soon as possible' };
  },
  // "The parameter group change occurs immediately"; its parameters need a reboot.
  parameter_group_name: fixed('waits for reboot', 'next-reboot', "the new group is attached at once, but its parameters apply only after the instance's next reboot"),
  multi_az: fixed('none', 'apply-immediately-or-window', 'no downtime; a standby is created or removed (I/O may be slower meanwhile)'),
  allocated_storage: fixed('none', 'apply-immediately-or-window', 'no downtime; I/O may be slower while the volume grows'),
  iops: fixed('none', 'apply-immediately-or-window', 'no downtime'),
  storage_throughput: fixed('none', 'apply-immediately-or-window', 'no downtime'),
  iam_database_authentication_enabled: fixed('none', 'apply-immediately-or-window', 'no downtime'),
  max_allocated_storage: fixed('none', 'during-apply', 'no downtime; the new autoscaling ceiling applies at once'),
};

/**
 * `aws_elasticache_replication_group` (Redis OSS, cluster mode disabled, Multi-AZ with automatic
 * failover, as this repo builds it). Sources: see the module comment.
 */
export const ELASTICACHE_REPLICATION_GROUP_IMPACTS: Readonly<Record<string, ImpactOf>> = {
  node_type: fixed(
    'brief interruption',
    'apply-immediately-or-window',
    'new nodes of the new type are synced and DNS moves to them; reads and writes pause a few seconds when the old nodes go',
  ),
  engine_version: fixed('failover', 'apply-immediately-or-window', 'nodes are replaced by upgraded ones, then a failover; writes pause a few seconds'),
  num_cache_clusters: (before, after) =>
    Number(after.num_cache_clusters) < Number(before.num_cache_clusters)
      ? { disruption: 'removal', timing: 'during-apply', effect: 'replicas are removed at once (AWS offers no deferred removal): their connections drop' }
      : { disruption: 'none', timing: 'during-apply', effect: 'replicas are added at once (AWS offers no deferred addition); each copies the data from the primary' },
  parameter_group_name: fixed('none', 'apply-immediately-or-window', 'parameters marked "after restart" in the ElastiCache parameter reference wait for a reboot'),
};

/** One planned change to a database or cache node that AWS applies with a delay or a disruption. */
export interface ServiceChange {
  /** Terraform address of the resource. */
  readonly address: string;
  readonly service: 'database' | 'cache';
  /** The AWS name: DB instance identifier, replication group id or parameter group name. */
  readonly name: string;
  /** The changed attribute, or `(resource)` for a replacement or a removal. */
  readonly attribute: string;
  readonly before?: unknown;
  /** Undefined when Terraform knows it only after the apply. */
  readonly after?: unknown;
  readonly disruption: Disruption;
  readonly timing: Timing;
  readonly effect: string;
  /** When it takes effect, in words: "in the next maintenance window sun:20:00-sun:21:00 UTC". */
  readonly when: string;
}

/** A database instance or replication group in the plan, with when its deferred changes apply. */
export interface ServiceNode {
  readonly address: string;
  readonly service: 'database' | 'cache';
  readonly name: string;
  readonly applyImmediately: boolean;
  /** `ddd:hh24:mi-ddd:hh24:mi` (UTC), when the plan knows it. */
  readonly maintenanceWindow?: string;
}

export interface ServiceChangeReport {
  readonly nodes: readonly ServiceNode[];
  readonly changes: readonly ServiceChange[];
}

interface ResourceChangeJson {
  readonly address: string;
  readonly mode: string;
  readonly type: string;
  readonly change: {
    readonly actions: readonly string[];
    readonly before: Values | null;
    readonly after: Values | null;
    readonly after_unknown?: Readonly<Record<string, unknown>>;
  };
}

export interface PlanJson {
  readonly resource_changes?: readonly ResourceChangeJson[];
}

const SERVICE_OF: Readonly<Record<string, 'database' | 'cache'>> = {
  aws_db_instance: 'database',
  aws_db_parameter_group: 'database',
  aws_elasticache_replication_group: 'cache',
  aws_elasticache_parameter_group: 'cache',
};
const NODE_TYPES = ['aws_db_instance', 'aws_elasticache_replication_group'];

function nameOf(type: string, values: Values, address: string): string {
  const name = type === 'aws_db_instance' ? values.identifier : type === 'aws_elasticache_replication_group' ? values.replication_group_id : values.name;
  return typeof name === 'string' ? name : address;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** When a change of this timing takes effect on this resource, in words. */
export function whenText(timing: Timing, after: Values): string {
  if (timing === 'during-apply') return 'during the apply (AWS does not defer it)';
  if (timing === 'next-reboot') return 'at the next reboot (RDS does not reboot for it: reboot in a quiet hour, or it waits for the next restarting change)';
  if (after.apply_immediately === true) return 'during the apply (apply_immediately)';
  const window = typeof after.maintenance_window === 'string' ? ` ${after.maintenance_window} UTC` : '';
  return `in the next maintenance window${window}`;
}

/** Changes of the parameters of an RDS parameter group: static ones wait for each instance's reboot. */
function rdsParameterChanges(rc: ResourceChangeJson, before: Values, after: Values, users: readonly string[]): ServiceChange[] {
  const byName = (values: Values) =>
    new Map(((values.parameter as { name: string; value: unknown; apply_method?: string }[] | undefined) ?? []).map((p) => [p.name, p]));
  const old = byName(before);
  const now = byName(after);
  const usedBy = users.length > 0 ? ` (used by ${users.join(', ')})` : '';
  const changes: ServiceChange[] = [];
  for (const [name, parameter] of now) {
    if (same(old.get(name)?.value, parameter.value)) continue;
    const staticParameter = parameter.apply_method === 'pending-reboot';
    changes.push({
      address: rc.address,
      service: 'database',
      name: nameOf(rc.type, after, rc.address),
      attribute: `parameter ${name}`,
      before: old.get(name)?.value,
      after: parameter.value,
      disruption: staticParameter ? 'waits for reboot' : 'none',
      timing: staticParameter ? 'next-reboot' : 'during-apply',
      effect: staticParameter
        ? `static parameter: applies after the next reboot of each instance${usedBy}`
        : `dynamic parameter: applied at once without a restart${usedBy}`,
      when: staticParameter ? whenText('next-reboot', after) : whenText('during-apply', after),
    });
  }
  return changes;
}

/**
 * The database and cache nodes of a plan, and every planned change to them that AWS defers,
 * restarts or fails over, per the tables above. Creations change no running node and are not
 * listed; nodes are listed whether they change or not, with their maintenance window.
 */
export function serviceChanges(plan: PlanJson): ServiceChangeReport {
  const resourceChanges = (plan.resource_changes ?? []).filter((rc) => rc.mode === 'managed' && rc.type in SERVICE_OF);
  const nodes: ServiceNode[] = resourceChanges
    .filter((rc) => NODE_TYPES.includes(rc.type) && rc.change.after)
    .map((rc) => {
      const after = rc.change.after!;
      return {
        address: rc.address,
        service: SERVICE_OF[rc.type]!,
        name: nameOf(rc.type, after, rc.address),
        applyImmediately: after.apply_immediately === true,
        ...(typeof after.maintenance_window === 'string' ? { maintenanceWindow: after.maintenance_window } : {}),
      };
    });

  const changes: ServiceChange[] = [];
  for (const rc of resourceChanges) {
    const { actions, before, after } = rc.change;
    const service = SERVICE_OF[rc.type]!;
    if (!before) continue;
    const name = nameOf(rc.type, after ?? before, rc.address);
    if (actions.includes('delete') && actions.includes('create')) {
      changes.push({
        address: rc.address, service, name, attribute: '(resource)', disruption: 'replacement', timing: 'during-apply',
        effect: NODE_TYPES.includes(rc.type)
          ? 'destroyed and created again: a new endpoint, and a primary starts empty unless restored from its final snapshot'
          : 'destroyed and created again (create_before_destroy: the new one first)',
        when: whenText('during-apply', after ?? before),
      });
      continue;
    }
    if (actions.length === 1 && actions[0] === 'delete') {
      if (!NODE_TYPES.includes(rc.type)) continue;
      changes.push({
        address: rc.address, service, name, attribute: '(resource)', disruption: 'removal', timing: 'during-apply',
        effect: 'deleted: its connections drop', when: whenText('during-apply', before),
      });
      continue;
    }
    if (!(actions.length === 1 && actions[0] === 'update') || !after) continue;

    if (rc.type === 'aws_db_parameter_group') {
      const users = resourceChanges
        .filter((other) => other.type === 'aws_db_instance' && other.change.after?.parameter_group_name === after.name)
        .map((other) => nameOf(other.type, other.change.after!, other.address));
      changes.push(...rdsParameterChanges(rc, before, after, users));
      continue;
    }
    if (rc.type === 'aws_elasticache_parameter_group') {
      if (!same(before.parameter, after.parameter)) {
        changes.push({
          address: rc.address, service, name, attribute: 'parameter', before: before.parameter, after: after.parameter,
          disruption: 'none', timing: 'during-apply',
          effect: 'most Redis parameters apply at once; those marked "after restart" in the ElastiCache parameter reference wait for a reboot',
          when: whenText('during-apply', after),
        });
      }
      continue;
    }

    const table = rc.type === 'aws_db_instance' ? RDS_INSTANCE_IMPACTS : ELASTICACHE_REPLICATION_GROUP_IMPACTS;
    const unknown = rc.change.after_unknown ?? {};
    for (const [attribute, impactOf] of Object.entries(table)) {
      const afterKnown = unknown[attribute] !== true;
      if (afterKnown && same(before[attribute], after[attribute])) continue;
      const impact = impactOf(before, after);
      changes.push({
        address: rc.address,
        service,
        name,
        attribute,
        before: before[attribute],
        ...(afterKnown ? { after: after[attribute] } : {}),
        ...impact,
        when: whenText(impact.timing, after),
      });
    }
  }
  return { nodes, changes };
}

/** Restarts, failovers and the like: what an operator schedules around. */
export const isDisruptive = (change: ServiceChange): boolean => change.disruption !== 'none';
