/**
 * Checks of the AWS identifiers that `platform.yaml` names and the constructs take: CIDR blocks,
 * security group ids, IAM principal ARNs and S3 bucket names. Each check returns what is wrong as
 * a phrase starting with "must" (or nothing), so the caller adds the field, the value and where
 * it came from, in the repo's `<field> <what is allowed>, got <value>` form.
 */

export interface Cidr {
  readonly family: 4 | 6;
  /** As AWS and the Terraform provider write it: the network address, IPv6 compressed. */
  readonly canonical: string;
  readonly prefixLength: number;
}

export type CidrResult = { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly problem: string };

const IPV4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_PATTERN = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

function ipv4Bits(address: string): bigint | undefined {
  if (!IPV4_PATTERN.test(address)) return undefined;
  return address.split('.').reduce((bits, octet) => (bits << 8n) | BigInt(octet), 0n);
}

function ipv6Bits(address: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(address) || address.split('::').length > 2) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = ipv4Bits(piece);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
        groups.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const [head, tail] = address.split('::') as [string, string | undefined];
  const headGroups = parseGroups(head);
  const tailGroups = tail === undefined ? [] : parseGroups(tail);
  if (!headGroups || !tailGroups) return undefined;
  const missing = 8 - headGroups.length - tailGroups.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...headGroups, ...new Array<number>(tail === undefined ? 0 : missing).fill(0), ...tailGroups];
  return groups.reduce((bits, group) => (bits << 16n) | BigInt(group), 0n);
}

function formatIpv4(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((bits >> shift) & 0xffn)).join('.');
}

/** RFC 5952 text, as Go's net package (and so the Terraform AWS provider) prints it. */
function formatIpv6(bits: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((bits >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Parses an IPv4 or IPv6 CIDR block. Only the network address, written as AWS writes it, is
 * accepted: the AWS provider refuses `10.100.0.1/22` at validate ("must be a valid IPv4 CIDR that
 * represents a network address", hashicorp/aws 5.100.0), and one spelling per block (IPv6
 * lowercase and compressed) lets a repeated block be caught before AWS refuses the duplicate rule.
 */
export function parseCidr(text: string): CidrResult {
  const malformed = { ok: false as const, problem: 'must be an IPv4 or IPv6 CIDR block such as 10.100.0.0/22' };
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return malformed;
  const [, address, prefixText] = match as unknown as [string, string, string];
  const prefixLength = Number(prefixText);
  const v4 = ipv4Bits(address);
  const v6 = v4 === undefined ? ipv6Bits(address) : undefined;
  const family = v4 !== undefined ? 4 : v6 !== undefined ? 6 : undefined;
  if (family === undefined || String(prefixLength) !== prefixText) return malformed;
  const width = family === 4 ? 32 : 128;
  if (prefixLength > width) return malformed;
  const bits = (v4 ?? v6)!;
  const hostBits = BigInt(width - prefixLength);
  const network = (bits >> hostBits) << hostBits;
  const canonical = `${family === 4 ? formatIpv4(network) : formatIpv6(network)}/${prefixLength}`;
  if (canonical !== text) return { ok: false, problem: `must be a network address as AWS writes it (${canonical})` };
  return { ok: true, cidr: { family, canonical, prefixLength } };
}

/**
 * A CIDR block that may reach the private EKS API endpoint: valid, and not the whole internet.
 */
export function endpointCidrProblem(text: string): string | undefined {
  const parsed = parseCidr(text);
  if (!parsed.ok) return parsed.problem;
  if (parsed.cidr.prefixLength === 0) {
    return 'must not admit every address: the EKS API endpoint is private so that only the deploy runner, VPN or bastion reach it; list their ranges';
  }
  return undefined;
}

export const SECURITY_GROUP_ID_PATTERN = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;
export const SECURITY_GROUP_ID_RULE = 'a security group id (sg- followed by 8 or 17 lowercase hex digits)';

/** `aws`, `aws-cn`, `aws-us-gov`, `aws-iso-b`, `aws-eusc`, ... */
const PARTITION = 'aws(?:-[a-z]+)*';
/** Path segments are printable ASCII (IAM allows `!` to `~`); names are IAM's name characters. */
const IAM_PRINCIPAL_ARN_PATTERN = new RegExp(`^arn:${PARTITION}:iam::\\d{12}:(role|user)(/[\\x21-\\x2e\\x30-\\x7e]+)*/[\\w+=,.@-]{1,64}$`);
const ASSUMED_ROLE_ARN_PATTERN = new RegExp(`^arn:(${PARTITION}):sts::(\\d{12}):assumed-role/([\\w+=,.@-]{1,64})/.+$`);

/** The ARN of one IAM role or user, as EKS access entries take it. */
export function iamPrincipalArnProblem(arn: string): string | undefined {
  if (/[*?]/.test(arn)) return 'must name exactly one IAM role or user, without wildcards (EKS access entries take exact ARNs)';
  const session = ASSUMED_ROLE_ARN_PATTERN.exec(arn);
  if (session) {
    const [, partition, account, role] = session;
    return `must be the IAM role's ARN (arn:${partition}:iam::${account}:role/${role}, with the role's path if it has one), not an assumed-role session of it`;
  }
  if (!IAM_PRINCIPAL_ARN_PATTERN.test(arn)) {
    return 'must be the ARN of an IAM role or user (arn:<partition>:iam::<12-digit account>:role/<name> or :user/<name>)';
  }
  return undefined;
}

/** The partition of an IAM ARN (`aws`, `aws-cn`, ...), for the ARNs of AWS-managed policies. */
export function arnPartition(arn: string): string | undefined {
  return /^arn:([a-z-]+):/.exec(arn)?.[1];
}

const BUCKET_RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'] as const;
const BUCKET_RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'] as const;

/** S3 general purpose bucket naming rules. */
export function s3BucketNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
    return 'must be an S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
  }
  if (name.includes('..')) return 'must be an S3 bucket name without two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must be an S3 bucket name, not formatted as an IP address';
  const prefix = BUCKET_RESERVED_PREFIXES.find((p) => name.startsWith(p));
  const suffix = BUCKET_RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (prefix || suffix) {
    return `must be an S3 bucket name that neither starts with ${BUCKET_RESERVED_PREFIXES.join(', ')} nor ends with ${BUCKET_RESERVED_SUFFIXES.join(', ')} (reserved by S3)`;
  }
  return undefined;
}
