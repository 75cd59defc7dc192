/**
 * The platform settings (`platform.yaml`, beside `locations/`) after parsing and validation: who
 * deploys and operates each region's cluster, where Terraform state lives, and which Route 53
 * hosted zones hold the locations' names. Produced only by `loadPlatformSettings`; stacks never
 * read the file.
 */

/** What an IAM principal may do in a region's cluster, as an EKS access policy association. */
export const CLUSTER_ACCESS_LEVELS = ['admin', 'view'] as const;
export type ClusterAccessLevel = (typeof CLUSTER_ACCESS_LEVELS)[number];

export interface ClusterAccessEntry {
  /**
   * IAM role or user ARN (`arn:<partition>:iam::<account>:role/<name>`). Never the principal that
   * created the cluster: EKS gave it an admin entry at creation, and refuses a second one.
   */
  readonly principalArn: string;
  /** `admin`: AmazonEKSClusterAdminPolicy (the deploy role); `view`: AmazonEKSViewPolicy (on-call). */
  readonly access: ClusterAccessLevel;
}

export interface RegionPlatformSettings {
  readonly region: string;
  /**
   * Who may reach the private EKS API endpoint on 443 (the deploy runner, a VPN, a bastion):
   * CIDRs and/or security group ids admitted by the cluster security group. At least one of the two.
   */
  readonly clusterEndpointAccess: {
    readonly cidrs: readonly string[];
    readonly securityGroupIds: readonly string[];
  };
  /** IAM principals with EKS access entries; at least one `admin` (the deploy role). */
  readonly clusterAccess: readonly ClusterAccessEntry[];
}

export interface HostedZone {
  /** The zone's domain, lowercase without a trailing dot (`banrimkwae.com`). */
  readonly domain: string;
  /** Route 53 hosted zone id (`Z` followed by upper-case letters and digits). */
  readonly zoneId: string;
}

export interface StateBackendSettings {
  /** Versioned, encrypted S3 bucket created once per account (README: Deploying). */
  readonly bucket: string;
  readonly region: string;
  /** Prefix of every state object key: `<keyPrefix>/<stack>/terraform.tfstate`. */
  readonly keyPrefix: string;
}

export interface PlatformSettings {
  readonly stateBackend: StateBackendSettings;
  /** By region; every region that has a location has an entry. */
  readonly regions: ReadonlyMap<string, RegionPlatformSettings>;
  /** Public hosted zones; a location's names get records in the zone whose domain ends them. */
  readonly hostedZones: readonly HostedZone[];
  /** The file the settings came from, for error messages. */
  readonly sourceFile: string;
}

/**
 * The hosted zone that holds `hostName`: the zone with the longest domain that equals it or is a
 * suffix at a label boundary (`api.x.banrimkwae.com` is in `banrimkwae.com`, not in `rimkwae.com`).
 */
export function hostedZoneFor(settings: Pick<PlatformSettings, 'hostedZones'>, hostName: string): HostedZone | undefined {
  return settings.hostedZones
    .filter((zone) => hostName === zone.domain || hostName.endsWith(`.${zone.domain}`))
    .sort((a, b) => b.domain.length - a.domain.length)[0];
}
