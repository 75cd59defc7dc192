/**
 * The schema of a location file (`locations/<id>.yaml` or `.json`): the only thing onboarding edits.
 * Structural rules live here; rules that relate fields to each other (AZs of the region, min <= max
 * after overrides) are in `resolve-location.ts`, which sees the derived values too.
 */
import { z } from 'zod';
import { APPLY_TIMINGS, TIERS } from './location';

/** Ids of the rules in stacks/checks/policy: an area and a number, e.g. `RDS-003`, `K8S-010`. */
export const POLICY_RULE_ID_PATTERN = /^[A-Z0-9]+-\d{3}$/;

/**
 * The longest location id. AWS names are derived from it (`<id>-redis`, `<id>-rds-monitoring`,
 * `<id>-assets-<account>`, ...); the tightest is the ElastiCache user group id `<id>-redis-users`,
 * which AWS allows up to 40 characters. `tests/config/location-id-names.test.ts` synthesizes an id
 * of this length and checks every derived name against its AWS limit.
 */
export const LOCATION_ID_MAX_LENGTH = 28;
/**
 * A valid location id: a DNS label that every AWS name derived from it accepts. RDS and
 * ElastiCache names refuse a trailing hyphen and two hyphens in a row, and S3 reserves two
 * bucket name prefixes, so the id has none of these. `locationIdProblems` says which rule an id
 * breaks.
 */
export const LOCATION_ID_PATTERN = new RegExp(
  `^(?=.{3,${LOCATION_ID_MAX_LENGTH}}$)(?!sthree-|amzn-s3-demo-|kube-)(?!(?:default|monitoring)$)[a-z][a-z0-9]*(-[a-z0-9]+)*$`,
);

/**
 * Namespaces every region's cluster already has, which a location (its id is its namespace) must
 * not take over: Kubernetes' own (`default`, `kube-*`) and the addons stack's `monitoring`
 * (MONITORING_NAMESPACE in stacks/infra/stack-kinds/addons-stack.ts; a test keeps the two equal).
 */
export const CLUSTER_NAMESPACES: readonly string[] = ['default', 'monitoring'];
export const CLUSTER_NAMESPACE_PREFIX = 'kube-';

/**
 * What is wrong with a location id, each as the rest of an `id ...` message (without the value);
 * empty when `LOCATION_ID_PATTERN` accepts it.
 */
export function locationIdProblems(id: string): string[] {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]*$/.test(id) || id.endsWith('-')) {
    problems.push('must be a DNS-safe id: lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit');
  }
  if (id.length < 3 || id.length > LOCATION_ID_MAX_LENGTH) {
    problems.push(`must be 3-${LOCATION_ID_MAX_LENGTH} characters long (AWS allows 40 for the ElastiCache user group id "<id>-redis-users")`);
  }
  if (id.includes('--')) {
    problems.push('must not contain two hyphens in a row: AWS refuses "--" in the RDS and ElastiCache names made from the id');
  }
  if (CLUSTER_NAMESPACES.includes(id) || id.startsWith(CLUSTER_NAMESPACE_PREFIX)) {
    problems.push(`must not be a namespace the cluster already uses (${CLUSTER_NAMESPACES.join(', ')}, ${CLUSTER_NAMESPACE_PREFIX}*): the id is the location's namespace`);
  }
  const reservedPrefix = ['sthree-', 'amzn-s3-demo-'].find((prefix) => id.startsWith(prefix));
  if (reservedPrefix) {
    problems.push(`must not start with "${reservedPrefix}": AWS reserves it for S3 bucket names, and the asset bucket's name starts with the id`);
  }
  return problems;
}

/** AWS reserves tag keys that begin with `aws:` (any case) for its own tags. */
export const AWS_RESERVED_TAG_KEY_PREFIX = /^aws:/i;
const HOSTNAME_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const TAG_KEY_PATTERN = /^[A-Za-z0-9 _.:/=+@-]{1,128}$/;
const TAG_VALUE_PATTERN = /^[A-Za-z0-9 _.:/=+@-]{0,256}$/;
const DB_INSTANCE_CLASS_PATTERN = /^db\.[a-z0-9]+\.[a-z0-9]+$/;
const CACHE_NODE_TYPE_PATTERN = /^cache\.[a-z0-9]+\.[a-z0-9]+$/;

/** Cost-allocation tags every location must carry; the platform adds `location` and `managed-by`. */
export const REQUIRED_TAG_KEYS = ['cost-center', 'owner'] as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const workloadOverrides = z
  .object({
    minReplicas: int(1, 50),
    maxReplicas: int(1, 100),
    cpuRequestMillicores: int(50, 8000),
    cpuLimitMillicores: int(50, 16000),
    memoryRequestMiB: int(64, 32768),
    memoryLimitMiB: int(64, 65536),
  })
  .partial()
  .strict();

export const sizingOverridesSchema = z
  .object({
    database: z
      .object({
        instanceClass: z.string().regex(DB_INSTANCE_CLASS_PATTERN, 'an RDS instance class such as db.r6g.large'),
        readReplicas: int(0, 5),
        allocatedStorageGiB: int(20, 65536),
        maxAllocatedStorageGiB: int(20, 65536),
        backupRetentionDays: int(7, 35),
      })
      .partial()
      .strict(),
    redis: z
      .object({
        nodeType: z.string().regex(CACHE_NODE_TYPE_PATTERN, 'an ElastiCache node type such as cache.r6g.large'),
        nodeCount: int(2, 6),
      })
      .partial()
      .strict(),
    api: workloadOverrides,
    ws: workloadOverrides,
    nginx: z.object({ replicas: int(1, 20) }).partial().strict(),
  })
  .partial()
  .strict();

export const locationFileSchema = z
  .object({
    id: z.string().superRefine((id, ctx) => {
      for (const message of locationIdProblems(id)) ctx.addIssue({ code: 'custom', message, input: id });
    }),
    displayName: z.string().trim().min(1).max(100),
    region: z.string().min(1),
    availabilityZones: z.array(z.string()).min(2).max(3),
    business: z
      .object({
        tier: z.enum(TIERS).optional(),
        seats: int(1, 10000),
        peakOrdersPerMinute: int(1, 100000),
      })
      .strict(),
    domains: z
      .object({
        api: z.string().regex(HOSTNAME_PATTERN, 'a lowercase DNS host name'),
        cdn: z.string().regex(HOSTNAME_PATTERN, 'a lowercase DNS host name'),
      })
      .strict(),
    tags: z.record(
      z.string().regex(TAG_KEY_PATTERN, 'an AWS tag key (1-128 letters, digits, spaces and _.:/=+-@)'),
      z.string().regex(TAG_VALUE_PATTERN, 'an AWS tag value (0-256 letters, digits, spaces and _.:/=+-@)'),
    ),
    alertEmail: z.email(),
    databasePasswordVersion: int(1, 1000000).optional(),
    /**
     * When restarting changes (instance class, node type, engine version...) reach the database
     * and Redis: in their weekly maintenance window (default) or during the apply.
     */
    applyChanges: z
      .object({ database: z.enum(APPLY_TIMINGS), redis: z.enum(APPLY_TIMINGS) })
      .partial()
      .strict()
      .optional(),
    overrides: sizingOverridesSchema.optional(),
    /** Policy rules this location is exempt from, each with the reason a reviewer accepted. */
    policyWaivers: z
      .array(
        z
          .object({
            rule: z.string().regex(POLICY_RULE_ID_PATTERN, 'a policy rule id such as RDS-003 (see `npm run plan` output)'),
            reason: z.string().trim().min(20).max(500),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();

export type LocationFile = z.infer<typeof locationFileSchema>;
export type SizingOverrides = z.infer<typeof sizingOverridesSchema>;
