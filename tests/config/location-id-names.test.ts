/**
 * The longest id the schema allows must yield AWS names AWS accepts. Synthesizes a location with
 * such an id (every read replica and Redis node, so every numbered name exists) and checks each
 * name made from the id against the limit AWS documents for it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LOCATION_ID_MAX_LENGTH, LOCATION_ID_PATTERN } from '../../stacks/infra/config/location-schema';
import { synthPlatform, type StackJson } from '../../tools/synth/synth-platform';

// 28 characters, with hyphens, as a real id would have them.
const LONGEST_ID = 'chiang-mai-nimmanhaemin-road';

/** A 12-digit account id, for names that end in the account (a token at synth). */
const ACCOUNT_ID = '123456789012';

/** Letter first, letters, digits and single hyphens, no trailing hyphen (RDS, ElastiCache). */
const RDS_ELASTICACHE_NAME = /^[a-zA-Z](?:[a-zA-Z0-9]|-(?=[a-zA-Z0-9]))*$/;

interface NameLimit {
  readonly maxLength: number;
  readonly pattern?: RegExp;
}

/** AWS's limit for each attribute that names a resource, by resource type and attribute path. */
const AWS_NAME_LIMITS: Record<string, Record<string, NameLimit>> = {
  aws_s3_bucket: { bucket: { maxLength: 63, pattern: /^[a-z0-9](?:[a-z0-9-]|\.(?!\.))*[a-z0-9]$/ } },
  aws_elasticache_replication_group: { replication_group_id: { maxLength: 40, pattern: RDS_ELASTICACHE_NAME } },
  aws_elasticache_parameter_group: { name: { maxLength: 255, pattern: RDS_ELASTICACHE_NAME } },
  aws_elasticache_subnet_group: { name: { maxLength: 255, pattern: /^[a-z0-9-]+$/ } },
  aws_elasticache_user: { user_id: { maxLength: 40, pattern: RDS_ELASTICACHE_NAME }, user_name: { maxLength: 120, pattern: /^\S+$/ } },
  aws_elasticache_user_group: { user_group_id: { maxLength: 40, pattern: RDS_ELASTICACHE_NAME } },
  aws_db_instance: {
    identifier: { maxLength: 63, pattern: RDS_ELASTICACHE_NAME },
    final_snapshot_identifier: { maxLength: 255, pattern: RDS_ELASTICACHE_NAME },
  },
  aws_db_parameter_group: { name: { maxLength: 255, pattern: RDS_ELASTICACHE_NAME } },
  aws_db_subnet_group: { name: { maxLength: 255, pattern: /^[a-z0-9 ._-]+$/ } },
  aws_iam_role: { name: { maxLength: 64, pattern: /^[\w+=,.@-]+$/ } },
  aws_iam_policy: { name: { maxLength: 128, pattern: /^[\w+=,.@-]+$/ } },
  aws_security_group: { name: { maxLength: 255 } },
  aws_cloudwatch_log_group: { name: { maxLength: 512, pattern: /^[\w./#-]+$/ } },
  // The dimension is a Redis member's cache cluster id (`<group>-001`), which AWS derives.
  aws_cloudwatch_metric_alarm: { alarm_name: { maxLength: 255 }, 'dimensions.CacheClusterId': { maxLength: 50, pattern: RDS_ELASTICACHE_NAME } },
  aws_kms_alias: { name: { maxLength: 256, pattern: /^alias\/[\w/:-]+$/ } },
  aws_secretsmanager_secret: { name: { maxLength: 512, pattern: /^[\w/+=.@-]+$/ } },
  aws_sns_topic: { name: { maxLength: 256, pattern: /^[\w-]+$/ } },
  aws_cloudfront_cache_policy: { name: { maxLength: 128, pattern: /^[\w-]+$/ } },
  aws_cloudfront_origin_access_control: { name: { maxLength: 64 } },
  aws_cloudfront_response_headers_policy: { name: { maxLength: 128, pattern: /^[\w-]+$/ }, comment: { maxLength: 128 } },
  aws_cloudfront_function: { name: { maxLength: 64, pattern: /^[\w-]+$/ }, comment: { maxLength: 128 } },
  aws_cloudfront_distribution: { comment: { maxLength: 128 } },
  // A DNS name: at most 63 characters a label.
  aws_route53_record: { name: { maxLength: 253, pattern: /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/ } },
  kubernetes_namespace_v1: { 'metadata.name': { maxLength: 63, pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/ } },
};

/** Attribute names that name a resource: the table above must list any that carries the id. */
const NAMING_ATTRIBUTE = /^(name|name_prefix|identifier|bucket|alarm_name|[a-z_]*_id)$/;

function locationFile(id: string): string {
  return `id: ${id}
displayName: Longest Id Test
region: ap-southeast-1
availabilityZones: [ap-southeast-1a, ap-southeast-1b, ap-southeast-1c]
business: {tier: large, seats: 300, peakOrdersPerMinute: 300}
domains: {api: api.${id}.banrimkwae.com, cdn: cdn.${id}.banrimkwae.com}
tags: {cost-center: cc-1, owner: platform-team}
alertEmail: ops@banrimkwae.com
overrides: {database: {readReplicas: 5}, redis: {nodeCount: 6}}
`;
}

/**
 * The value as AWS will see it: the account id, which synth writes as the fifth field of an ARN
 * (`${element(split(":", <arn>), 4)}`), replaced by one. Any other expression stays and fails.
 */
function resolved(value: string): string {
  return value.replace(/\$\{element\(split\(":", [^}]*\), 4\)\}/g, ACCOUNT_ID);
}

interface DerivedName {
  readonly stack: string;
  readonly address: string;
  readonly attribute: string;
  readonly value: string;
}

/** Every string attribute (nested paths dotted, lists flattened) of `stack`'s resources made with `id`. */
function namesHolding(stack: string, json: StackJson, id: string): DerivedName[] {
  const found: DerivedName[] = [];
  const walk = (address: string, value: unknown, attribute: string) => {
    if (typeof value === 'string') {
      // Outside `${...}`: a reference to another stack's output names nothing.
      if (value.replace(/\$\{[^}]*\}/g, '').includes(id)) found.push({ stack, address, attribute, value: resolved(value) });
    } else if (Array.isArray(value)) {
      value.forEach((item) => walk(address, item, attribute));
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === '//' || key === 'tags' || key === 'tags_all') continue;
        walk(address, inner, attribute ? `${attribute}.${key}` : key);
      }
    }
  };
  for (const [type, byName] of Object.entries((json.resource ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const [name, body] of Object.entries(byName)) walk(`${type}.${name}`, body, '');
  }
  return found;
}

describe('the longest location id', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longest-id-'));
  fs.writeFileSync(path.join(dir, `${LONGEST_ID}.yaml`), locationFile(LONGEST_ID));
  const { stacks, outdir } = synthPlatform({ TF_BACKEND: 'local' }, dir);
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outdir, { recursive: true, force: true });
  });
  const names = [...stacks].flatMap(([stack, json]) => namesHolding(stack, json, LONGEST_ID));
  const checked = names.filter(({ address, attribute }) => AWS_NAME_LIMITS[address.split('.')[0]!]?.[attribute]);

  test('is as long as the schema allows', () => {
    expect(LONGEST_ID).toHaveLength(LOCATION_ID_MAX_LENGTH);
    expect(LONGEST_ID).toMatch(LOCATION_ID_PATTERN);
    expect(`${LONGEST_ID}x`).not.toMatch(LOCATION_ID_PATTERN);
  });

  test('yields names within the tightest limits', () => {
    const byAttribute = (type: string, attribute: string) =>
      checked.filter((n) => n.address.startsWith(`${type}.`) && n.attribute === attribute).map((n) => n.value);
    expect(byAttribute('aws_elasticache_user_group', 'user_group_id')).toEqual([`${LONGEST_ID}-redis-users`]);
    expect(byAttribute('aws_elasticache_replication_group', 'replication_group_id')).toEqual([`${LONGEST_ID}-redis`]);
    expect(byAttribute('aws_s3_bucket', 'bucket').sort()).toEqual([`${LONGEST_ID}-assets-${ACCOUNT_ID}`, `${LONGEST_ID}-logs-${ACCOUNT_ID}`]);
    expect(byAttribute('aws_iam_role', 'name').length).toBeGreaterThanOrEqual(3);
    expect(byAttribute('aws_db_instance', 'identifier')).toHaveLength(6);
    expect(byAttribute('aws_cloudwatch_metric_alarm', 'dimensions.CacheClusterId')).toContain(`${LONGEST_ID}-redis-006`);
  });

  test('every name made from it is one AWS accepts', () => {
    const refused = checked.flatMap(({ address, attribute, value }) => {
      const limit = AWS_NAME_LIMITS[address.split('.')[0]!]![attribute]!;
      const problems = [
        ...(value.length > limit.maxLength ? [`${value.length} > ${limit.maxLength} characters`] : []),
        ...(limit.pattern && !limit.pattern.test(value) ? [`does not match ${limit.pattern}`] : []),
      ];
      return problems.length > 0 ? [`${address} ${attribute} = "${value}": ${problems.join(', ')}`] : [];
    });
    expect(refused).toEqual([]);
  });

  test('every resource-naming attribute that carries it has its AWS limit in the table', () => {
    const unlisted = names
      .filter(({ address, attribute }) => NAMING_ATTRIBUTE.test(attribute) && !AWS_NAME_LIMITS[address.split('.')[0]!]?.[attribute])
      .filter(({ address }) => address.startsWith('aws_'))
      .map(({ address, attribute, value }) => `${address} ${attribute} = "${value}"`);
    expect(unlisted).toEqual([]);
  });

  test('one character more fails a limit: the id length is the tightest bound', () => {
    const groupIdLimit = AWS_NAME_LIMITS.aws_elasticache_user_group!.user_group_id!.maxLength;
    expect(`${LONGEST_ID}-redis-users`).toHaveLength(groupIdLimit);
    expect(`${LONGEST_ID}x-redis-users`.length).toBeGreaterThan(groupIdLimit);
  });
});
