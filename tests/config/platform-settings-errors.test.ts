/**
 * A bad platform settings file stops synth with a message naming the file, the field, the value
 * and what is allowed. Each case is a mistake someone editing `platform.yaml` can make.
 */
import { formatProblem } from '../../stacks/infra/config/location-config-error';
import { parsePlatformSettingsText } from '../../stacks/infra/config/platform-settings-loader';

const FILE = 'platform.yaml';
const REGIONS_ALLOWED = 'ap-northeast-1, ap-southeast-1, ap-southeast-2, ap-southeast-7, eu-central-1, eu-west-1, eu-west-2, us-east-1, us-west-2';
const VALID = `stateBackend: { bucket: banrimkwae-platform-tfstate, region: ap-southeast-1, keyPrefix: restaurant-platform }
hostedZones:
  - { domain: banrimkwae.com, zoneId: Z0417528Q1F6N7WYXB2KE }
  - { domain: banrimkwae.co.uk, zoneId: Z06157202RJ6XSE1CZ4QA }
regions:
  ap-southeast-1:
    clusterEndpointAccess: { cidrs: [10.100.0.0/22], securityGroupIds: [sg-0a1b2c3d4e5f67890] }
    clusterAccess:
      - { principalArn: "arn:aws:iam::111122223333:role/platform-deploy", access: admin }
      - { principalArn: "arn:aws:iam::111122223333:role/platform-oncall", access: view }
`;
const DEPLOY = '"arn:aws:iam::111122223333:role/platform-deploy"';
const ONCALL = '"arn:aws:iam::111122223333:role/platform-oncall"';
const AT = `${FILE}: regions.ap-southeast-1`;

function problemsOf(text: string): string[] {
  const result = parsePlatformSettingsText(FILE, text);
  if (result.ok) throw new Error('expected the file to be rejected, but it parsed');
  return result.problems.map(formatProblem);
}

describe('a valid platform settings file', () => {
  test('parses into settings by region', () => {
    const result = parsePlatformSettingsText(FILE, VALID);
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.settings.stateBackend).toEqual({ bucket: 'banrimkwae-platform-tfstate', region: 'ap-southeast-1', keyPrefix: 'restaurant-platform' });
    expect(result.settings.regions.get('ap-southeast-1')!.clusterAccess).toHaveLength(2);
  });

  test.each([
    ['only security groups', VALID.replace('cidrs: [10.100.0.0/22], ', '')],
    ['only CIDRs, IPv6 among them', VALID.replace('securityGroupIds: [sg-0a1b2c3d4e5f67890]', 'cidrs: [10.100.0.0/22, "2001:db8:100::/48"]').replace('cidrs: [10.100.0.0/22], ', '')],
    ['a user and a role with a path in another partition', VALID.replace(DEPLOY, '"arn:aws-cn:iam::111122223333:role/ops/platform-deploy"').replace(ONCALL, '"arn:aws-us-gov:iam::111122223333:user/oncall-lead"')],
    ['a 17-digit and an 8-digit security group id', VALID.replace('[sg-0a1b2c3d4e5f67890]', '[sg-0a1b2c3d4e5f67890, sg-12345678]')],
    ['no hosted zones', VALID.replace(/hostedZones:\n(  - .*\n)+/, 'hostedZones: []\n')],
  ])('accepts %s', (_what, text) => {
    expect(parsePlatformSettingsText(FILE, text).ok).toBe(true);
  });
});

describe('platform settings errors', () => {
  test.each<[string, string, string[]]>([
    ['an unknown top-level field', VALID + 'colour: blue\n', [
      `${FILE}: colour is not a known field (allowed: stateBackend, hostedZones, regions)`,
    ]],
    ['an unknown field in a region', VALID + '    endpoint: public\n', [
      `${AT}.endpoint is not a known field (allowed: clusterEndpointAccess, clusterAccess)`,
    ]],
    ['an unknown field in an access entry', VALID.replace('access: view }', 'access: view, groups: [ops] }'), [
      `${AT}.clusterAccess[1].groups is not a known field (allowed: principalArn, access)`,
    ]],
    ['a missing state backend', VALID.replace(/^stateBackend: .*\n/, ''), [
      `${FILE}: stateBackend is required`,
    ]],
    ['a bucket name with capitals', VALID.replace('bucket: banrimkwae-platform-tfstate', 'bucket: Banrimkwae_State'), [
      `${FILE}: stateBackend.bucket must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, got "Banrimkwae_State"`,
    ]],
    ['a bucket name with two adjacent dots', VALID.replace('bucket: banrimkwae-platform-tfstate', 'bucket: banrimkwae..tfstate'), [
      `${FILE}: stateBackend.bucket must be an S3 bucket name without two adjacent dots, got "banrimkwae..tfstate"`,
    ]],
    ['a bucket name like an IP address', VALID.replace('bucket: banrimkwae-platform-tfstate', 'bucket: 192.168.5.4'), [
      `${FILE}: stateBackend.bucket must be an S3 bucket name, not formatted as an IP address, got "192.168.5.4"`,
    ]],
    ['a bucket name with a prefix S3 reserves', VALID.replace('bucket: banrimkwae-platform-tfstate', 'bucket: xn--banrimkwae'), [
      `${FILE}: stateBackend.bucket must be an S3 bucket name that neither starts with xn--, sthree-, amzn-s3-demo- nor ends with -s3alias, --ol-s3, .mrap, --x-s3, --table-s3 (reserved by S3), got "xn--banrimkwae"`,
    ]],
    ['a state region the platform does not know', VALID.replace('region: ap-southeast-1,', 'region: mars-east-1,'), [
      `${FILE}: stateBackend.region must be one of ${REGIONS_ALLOWED}, got "mars-east-1"`,
    ]],
    ['a key prefix with a leading slash', VALID.replace('keyPrefix: restaurant-platform', 'keyPrefix: /restaurant-platform'), [
      `${FILE}: stateBackend.keyPrefix must be an S3 key prefix: lowercase letters, digits, ., _ and - in segments separated by /, without a leading or trailing /, got "/restaurant-platform"`,
    ]],
    ['a region the platform does not know', VALID.replace('  ap-southeast-1:', '  mars-east-1:'), [
      `${FILE}: regions.mars-east-1 is not a known region (allowed: ${REGIONS_ALLOWED})`,
    ]],
    ['a region section that is a list', VALID.replace(/  ap-southeast-1:\n[\s\S]*$/, '  ap-southeast-1: [10.100.0.0/22]\n'), [
      `${AT} must be a mapping, got a list of 1`,
    ]],
    ['a malformed CIDR', VALID.replace('cidrs: [10.100.0.0/22]', 'cidrs: [10.100.0.0/33]'), [
      `${AT}.clusterEndpointAccess.cidrs[0] must be an IPv4 or IPv6 CIDR block such as 10.100.0.0/22, got "10.100.0.0/33"`,
    ]],
    ['a CIDR with host bits set', VALID.replace('cidrs: [10.100.0.0/22]', 'cidrs: [10.100.1.7/22]'), [
      `${AT}.clusterEndpointAccess.cidrs[0] must be a network address as AWS writes it (10.100.0.0/22), got "10.100.1.7/22"`,
    ]],
    ['an IPv6 CIDR not written as AWS writes it', VALID.replace('cidrs: [10.100.0.0/22]', 'cidrs: ["2001:DB8:0100:0:0::/48"]'), [
      `${AT}.clusterEndpointAccess.cidrs[0] must be a network address as AWS writes it (2001:db8:100::/48), got "2001:DB8:0100:0:0::/48"`,
    ]],
    ['the whole IPv4 internet', VALID.replace('cidrs: [10.100.0.0/22]', 'cidrs: [0.0.0.0/0]'), [
      `${AT}.clusterEndpointAccess.cidrs[0] must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges, got "0.0.0.0/0"`,
    ]],
    ['the whole IPv6 internet', VALID.replace('cidrs: [10.100.0.0/22]', 'cidrs: ["::/0"]'), [
      `${AT}.clusterEndpointAccess.cidrs[0] must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges, got "::/0"`,
    ]],
    ['the same CIDR twice', VALID.replace('cidrs: [10.100.0.0/22]', 'cidrs: [10.100.0.0/22, 10.100.0.0/22]'), [
      `${AT}.clusterEndpointAccess.cidrs[1] must not repeat a block, got "10.100.0.0/22" again`,
    ]],
    ['a security group id of the wrong length', VALID.replace('sg-0a1b2c3d4e5f67890', 'sg-0a1b2c3d4e'), [
      `${AT}.clusterEndpointAccess.securityGroupIds[0] must be a security group id (sg- followed by 8 or 17 lowercase hex digits), got "sg-0a1b2c3d4e"`,
    ]],
    ['a security group id in capitals', VALID.replace('sg-0a1b2c3d4e5f67890', 'sg-0A1B2C3D'), [
      `${AT}.clusterEndpointAccess.securityGroupIds[0] must be a security group id (sg- followed by 8 or 17 lowercase hex digits), got "sg-0A1B2C3D"`,
    ]],
    ['no CIDR and no security group', VALID.replace('{ cidrs: [10.100.0.0/22], securityGroupIds: [sg-0a1b2c3d4e5f67890] }', '{ cidrs: [] }'), [
      `${AT}.clusterEndpointAccess must list at least one CIDR or security group id (the deploy runner, VPN or bastion that reaches the private EKS API), got none`,
    ]],
    ['an assumed-role session instead of the role', VALID.replace(DEPLOY, '"arn:aws:sts::111122223333:assumed-role/platform-deploy/ci-run-42"'), [
      `${AT}.clusterAccess[0].principalArn must be the IAM role's ARN (arn:aws:iam::111122223333:role/platform-deploy, with the role's path if it has one), not an assumed-role session of it, got "arn:aws:sts::111122223333:assumed-role/platform-deploy/ci-run-42"`,
    ]],
    ['a wildcard principal', VALID.replace(DEPLOY, '"arn:aws:iam::111122223333:role/platform-*"'), [
      `${AT}.clusterAccess[0].principalArn must name exactly one IAM role or user, without wildcards (EKS access entries take exact ARNs), got "arn:aws:iam::111122223333:role/platform-*"`,
    ]],
    ['an account root instead of a role or user', VALID.replace(DEPLOY, '"arn:aws:iam::111122223333:root"'), [
      `${AT}.clusterAccess[0].principalArn must be the ARN of an IAM role or user (arn:<partition>:iam::<12-digit account>:role/<name> or :user/<name>), got "arn:aws:iam::111122223333:root"`,
    ]],
    ['a group ARN', VALID.replace(DEPLOY, '"arn:aws:iam::111122223333:group/platform"'), [
      `${AT}.clusterAccess[0].principalArn must be the ARN of an IAM role or user (arn:<partition>:iam::<12-digit account>:role/<name> or :user/<name>), got "arn:aws:iam::111122223333:group/platform"`,
    ]],
    ['an unknown access level', VALID.replace('access: view', 'access: edit'), [
      `${AT}.clusterAccess[1].access must be one of admin, view, got "edit"`,
    ]],
    ['no admin', VALID.replace('access: admin', 'access: view'), [
      `${AT}.clusterAccess must include at least one principal with access: admin (the role that deploys the addons and app stacks), got only view, view`,
    ]],
    ['no access entries at all', VALID.replace(/    clusterAccess:\n(      - .*\n)+/, '    clusterAccess: []\n'), [
      `${AT}.clusterAccess must include at least one principal with access: admin (the role that deploys the addons and app stacks), got none`,
    ]],
    ['the same principal twice', VALID.replace(ONCALL, DEPLOY), [
      `${AT}.clusterAccess[1].principalArn must not repeat a principal (EKS takes one access entry per principal), got "arn:aws:iam::111122223333:role/platform-deploy" again`,
    ]],
    ['a zone id that is not a Route 53 id', VALID.replace('Z0417528Q1F6N7WYXB2KE', 'z0417528q1f6'), [
      `${FILE}: hostedZones[0].zoneId must be a Route 53 hosted zone id (Z followed by up to 31 upper-case letters and digits), got "z0417528q1f6"`,
    ]],
    ['a zone domain with a trailing dot', VALID.replace('domain: banrimkwae.com,', 'domain: banrimkwae.com.,'), [
      `${FILE}: hostedZones[0].domain must be a lowercase DNS name without a trailing dot, got "banrimkwae.com."`,
    ]],
    ['a zone domain in capitals', VALID.replace('domain: banrimkwae.com,', 'domain: BanRimKwae.com,'), [
      `${FILE}: hostedZones[0].domain must be a lowercase DNS name without a trailing dot, got "BanRimKwae.com"`,
    ]],
    ['the same zone domain twice', VALID.replace('domain: banrimkwae.co.uk', 'domain: banrimkwae.com'), [
      `${FILE}: hostedZones[1].domain must not repeat a domain, got "banrimkwae.com" again`,
    ]],
    ['broken YAML', 'regions: [', [
      `${FILE}: is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] at line 1, column 11`,
    ]],
    ['an empty file', '', [`${FILE}: must be a mapping of platform settings, got an empty file`]],
    ['a duplicate YAML key', VALID + 'hostedZones: []\n', [
      `${FILE}: is not valid YAML: Map keys must be unique at line 11, column 1`,
    ]],
  ])('fails when the file has %s', (_what, text, expected) => {
    expect(problemsOf(text)).toEqual(expected);
  });

  test('fails with every problem of the file at once, in every region', () => {
    const text = VALID.replace('bucket: banrimkwae-platform-tfstate', 'bucket: x').replace('cidrs: [10.100.0.0/22]', 'cidrs: [0.0.0.0/0]') +
      '  eu-west-2:\n    clusterEndpointAccess: { cidrs: [] }\n    clusterAccess: [{ principalArn: "arn:aws:iam::111122223333:role/platform-oncall", access: view }]\n';
    expect(problemsOf(text)).toEqual([
      `${FILE}: stateBackend.bucket must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit, got "x"`,
      `${AT}.clusterEndpointAccess.cidrs[0] must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges, got "0.0.0.0/0"`,
      `${FILE}: regions.eu-west-2.clusterEndpointAccess must list at least one CIDR or security group id (the deploy runner, VPN or bastion that reaches the private EKS API), got none`,
      `${FILE}: regions.eu-west-2.clusterAccess must include at least one principal with access: admin (the role that deploys the addons and app stacks), got only view`,
    ]);
  });
});
