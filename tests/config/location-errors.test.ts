/**
 * Bad location files stop synth with a message naming the file, the field, the value and what is
 * allowed. Each case below is a real mistake an onboarding engineer can make.
 */
import { parseLocationText } from '../../stacks/infra/config/load-locations';
import { formatProblem } from '../../stacks/infra/config/location-config-error';

const FILE = 'locations/test-cafe.yaml';
const VALID = `id: test-cafe
displayName: Test Cafe
region: ap-southeast-1
availabilityZones: [ap-southeast-1a, ap-southeast-1b]
business: {seats: 30, peakOrdersPerMinute: 20}
domains: {api: api.test.example.com, cdn: cdn.test.example.com}
tags: {cost-center: cc-1, owner: platform-team}
alertEmail: ops@example.com
`;

function problemsOf(text: string, file = FILE): string[] {
  const result = parseLocationText(file, text);
  if (result.ok) throw new Error('expected the file to be rejected, but it parsed');
  return result.problems.map(formatProblem);
}

describe('a valid location file', () => {
  test('parses', () => {
    expect(parseLocationText(FILE, VALID).ok).toBe(true);
  });
});

describe('location file errors', () => {
  test.each<[string, string, string[]]>([
    ['an unknown top-level field', VALID + 'colour: blue\n', [
      `${FILE}: colour is not a known field (allowed: id, displayName, region, availabilityZones, business, domains, tags, alertEmail, databasePasswordVersion, applyChanges, overrides, policyWaivers)`,
    ]],
    ['an unknown override section', VALID + 'overrides: {apii: {}}\n', [
      `${FILE}: overrides.apii is not a known field (allowed: database, redis, api, ws, nginx)`,
    ]],
    ['a bad id', VALID.replace('id: test-cafe', 'id: Test_Cafe'), [
      `${FILE}: id must be a DNS-safe id: lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit, got "Test_Cafe"`,
    ]],
    ['an id ending in a hyphen', VALID.replace('id: test-cafe', 'id: test-cafe-'), [
      `${FILE}: id must be a DNS-safe id: lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit, got "test-cafe-"`,
    ]],
    ['an id with two hyphens in a row', VALID.replace('id: test-cafe', 'id: patong--beach'), [
      `${FILE}: id must not contain two hyphens in a row: AWS refuses "--" in the RDS and ElastiCache names made from the id, got "patong--beach"`,
    ]],
    ['an id longer than the AWS names made from it allow', VALID.replace('id: test-cafe', `id: ${'a'.repeat(29)}`), [
      `${FILE}: id must be 3-28 characters long (AWS allows 40 for the ElastiCache user group id "<id>-redis-users"), got "${'a'.repeat(29)}"`,
    ]],
    ['an id with a prefix S3 reserves', VALID.replace('id: test-cafe', 'id: sthree-cafe'), [
      `${FILE}: id must not start with "sthree-": AWS reserves it for S3 bucket names, and the asset bucket's name starts with the id, got "sthree-cafe"`,
    ]],
    ['an id that is a namespace of the addons stack', VALID.replace('id: test-cafe', 'id: monitoring'), [
      `${FILE}: id must not be a namespace the cluster already uses (default, monitoring, kube-*): the id is the location's namespace, got "monitoring"`,
    ]],
    ['an id in the kube- namespaces', VALID.replace('id: test-cafe', 'id: kube-system'), [
      `${FILE}: id must not be a namespace the cluster already uses (default, monitoring, kube-*): the id is the location's namespace, got "kube-system"`,
    ]],
    ['the id does not match the file name', VALID.replace('id: test-cafe', 'id: other-cafe'), [
      `${FILE}: id must match the file name "test-cafe", got "other-cafe"`,
    ]],
    ['an unknown region', VALID.replace('region: ap-southeast-1', 'region: mars-east-1'), [
      `${FILE}: region must be one of ap-northeast-1, ap-southeast-1, ap-southeast-2, ap-southeast-7, eu-central-1, eu-west-1, eu-west-2, us-east-1, us-west-2, got "mars-east-1"`,
    ]],
    ['an availability zone of another region', VALID.replace('ap-southeast-1b]', 'us-east-1a]'), [
      `${FILE}: availabilityZones[1] must be a zone of ap-southeast-1 (ap-southeast-1a, ap-southeast-1b, ap-southeast-1c), got "us-east-1a"`,
    ]],
    ['a repeated availability zone', VALID.replace('ap-southeast-1b]', 'ap-southeast-1a]'), [
      `${FILE}: availabilityZones[1] must not repeat a zone, got "ap-southeast-1a" twice`,
    ]],
    ['a single availability zone', VALID.replace('[ap-southeast-1a, ap-southeast-1b]', '[ap-southeast-1a]'), [
      `${FILE}: availabilityZones must list at least 2 entries, got 1`,
    ]],
    ['min replicas above max', VALID + 'overrides: {api: {minReplicas: 6, maxReplicas: 4}}\n', [
      `${FILE}: overrides.api.minReplicas must be at most api.maxReplicas (4), got 6`,
    ]],
    ['min replicas above the derived max', VALID + 'overrides: {ws: {minReplicas: 5}}\n', [
      `${FILE}: overrides.ws.minReplicas must be at most ws.maxReplicas (3), got 5`,
    ]],
    ['a single api replica', VALID + 'overrides: {api: {minReplicas: 1}}\n', [
      `${FILE}: overrides.api.minReplicas must be at least 2 so a node drain keeps the service up, got 1`,
    ]],
    ['too many read replicas', VALID + 'overrides: {database: {readReplicas: 7}}\n', [
      `${FILE}: overrides.database.readReplicas must be at most 5, got 7`,
    ]],
    ['a negative read replica count', VALID + 'overrides: {database: {readReplicas: -1}}\n', [
      `${FILE}: overrides.database.readReplicas must be at least 0, got -1`,
    ]],
    ['a single Redis node (no failover)', VALID + 'overrides: {redis: {nodeCount: 1}}\n', [
      `${FILE}: overrides.redis.nodeCount must be at least 2, got 1`,
    ]],
    ['a malformed e-mail', VALID.replace('ops@example.com', 'ops-at-example'), [
      `${FILE}: alertEmail must be an e-mail address, got "ops-at-example"`,
    ]],
    ['seats as text', VALID.replace('seats: 30', 'seats: "thirty"'), [
      `${FILE}: business.seats must be a number, got "thirty"`,
    ]],
    ['fractional seats', VALID.replace('seats: 30', 'seats: 2.5'), [
      `${FILE}: business.seats must be an integer, got 2.5`,
    ]],
    ['an unknown tier', VALID.replace('business: {', 'business: {tier: huge, '), [
      `${FILE}: business.tier must be one of small, medium, large, got "huge"`,
    ]],
    ['a missing field', VALID.replace('displayName: Test Cafe\n', ''), [
      `${FILE}: displayName is required`,
    ]],
    ['a missing cost-allocation tag and a reserved one', VALID.replace('owner: platform-team', 'stack: mine'), [
      `${FILE}: tags must include "owner" (required cost-allocation tags: cost-center, owner)`,
      `${FILE}: tags.stack is set by the platform and must not be set in a location file`,
    ]],
    ['a tag key with the prefix AWS reserves', VALID.replace('owner: platform-team', 'owner: platform-team, AWS:CreatedBy: me'), [
      `${FILE}: tags.AWS:CreatedBy must not begin with "aws:" (any case): AWS reserves the prefix and refuses the tag`,
    ]],
    ['a bad RDS instance class', VALID + 'overrides: {database: {instanceClass: m5.large}}\n', [
      `${FILE}: overrides.database.instanceClass must be an RDS instance class such as db.r6g.large, got "m5.large"`,
    ]],
    ['backups shorter than a week', VALID + 'overrides: {database: {backupRetentionDays: 3}}\n', [
      `${FILE}: overrides.database.backupRetentionDays must be at least 7, got 3`,
    ]],
    ['storage ceiling below the allocation', VALID + 'overrides: {database: {allocatedStorageGiB: 500}}\n', [
      `${FILE}: overrides.database.maxAllocatedStorageGiB must be at least database.allocatedStorageGiB (500), got 200`,
    ]],
    ['a CPU request above the limit', VALID + 'overrides: {api: {cpuRequestMillicores: 2000}}\n', [
      `${FILE}: overrides.api.cpuRequestMillicores must be at most api.cpuLimitMillicores (1000), got 2000`,
    ]],
    ['a host name that is not DNS', VALID.replace('api: api.test.example.com', 'api: API_test'), [
      `${FILE}: domains.api must be a lowercase DNS host name, got "API_test"`,
    ]],
    ['the same host for api and cdn', VALID.replace('cdn: cdn.test.example.com', 'cdn: api.test.example.com'), [
      `${FILE}: domains.cdn must differ from domains.api, got "api.test.example.com" for both`,
    ]],
    ['an apply timing AWS has no name for', VALID + 'applyChanges: {database: now}\n', [
      `${FILE}: applyChanges.database must be one of maintenance-window, immediately, got "now"`,
    ]],
    ['an apply timing for a service the location does not have', VALID + 'applyChanges: {cache: immediately}\n', [
      `${FILE}: applyChanges.cache is not a known field (allowed: database, redis)`,
    ]],
    ['apply timing as a yes/no', VALID + 'applyChanges: {redis: true}\n', [
      `${FILE}: applyChanges.redis must be one of maintenance-window, immediately, got true`,
    ]],
    ['a waiver without a reason', VALID + 'policyWaivers: [{rule: RDS-003, reason: "because"}]\n', [
      `${FILE}: policyWaivers[0].reason must be at least 20 characters long, got "because"`,
    ]],
    ['a waiver of a malformed rule id', VALID + 'policyWaivers: [{rule: rds3, reason: "single-AZ is fine for the pilot cafe"}]\n', [
      `${FILE}: policyWaivers[0].rule must be a policy rule id such as RDS-003 (see \`npm run plan\` output), got "rds3"`,
    ]],
    ['the same rule waived twice', VALID + 'policyWaivers: [{rule: RDS-003, reason: "single-AZ is fine for the pilot cafe"}, {rule: RDS-003, reason: "single-AZ is fine for the pilot cafe"}]\n', [
      `${FILE}: policyWaivers[1].rule must not waive a rule twice, got "RDS-003" again`,
    ]],
    ['a waiver of a rule that does not exist', VALID + 'policyWaivers: [{rule: ZZZ-999, reason: "single-AZ is fine for the pilot cafe"}]\n', [
      `${FILE}: policyWaivers[0].rule names no policy rule, got "ZZZ-999"`,
    ]],
    ['broken YAML', 'id: [', [
      `${FILE}: is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 6`,
    ]],
    ['an empty file', '', [`${FILE}: must be a mapping of location fields, got an empty file`]],
    ['a duplicate YAML key', VALID + 'region: eu-west-2\n', [
      `${FILE}: is not valid YAML: Map keys must be unique at line 9, column 1`,
    ]],
  ])('fails when the file has %s', (_what, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  test('fails with every problem of the file at once, not only the first', () => {
    const text = VALID.replace('ops@example.com', 'nope').replace('seats: 30', 'seats: 0') + 'colour: blue\n';
    expect(problemsOf(text)).toEqual([
      `${FILE}: business.seats must be at least 1, got 0`,
      `${FILE}: alertEmail must be an e-mail address, got "nope"`,
      `${FILE}: colour is not a known field (allowed: id, displayName, region, availabilityZones, business, domains, tags, alertEmail, databasePasswordVersion, applyChanges, overrides, policyWaivers)`,
    ]);
  });

  test('fails with an unknown waived rule listed among the other problems of the file', () => {
    const text = VALID.replace('owner: platform-team', 'owner: platform-team, aws:team: a')
      + 'policyWaivers: [{rule: RDS-003, reason: "single-AZ is fine for the pilot cafe"}, {rule: RDS-999, reason: "typo of the rule the reviewer accepted"}]\n';
    expect(problemsOf(text)).toEqual([
      `${FILE}: tags.aws:team must not begin with "aws:" (any case): AWS reserves the prefix and refuses the tag`,
      `${FILE}: policyWaivers[1].rule names no policy rule, got "RDS-999"`,
    ]);
  });

  test('fails on JSON files with JSON in the message', () => {
    expect(problemsOf('{"id": ', 'locations/test-cafe.json')[0]).toMatch(/^locations\/test-cafe\.json: is not valid JSON: /);
  });
});
