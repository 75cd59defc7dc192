/**
 * A restaurant location after parsing, validation and sizing: what every stack consumes.
 * Produced only by `loadLocations` / `resolveLocation`; stacks never read location files.
 */

export const TIERS = ['small', 'medium', 'large'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * When AWS applies a change to the database or Redis that it would otherwise hold for the weekly
 * maintenance window (instance class or node type, engine version, storage type...): in that
 * window (`maintenance-window`, the default) or as soon as the apply sends it (`immediately`,
 * Terraform's `apply_immediately`). Some changes ignore the choice; `npm run plan` says which.
 */
export const APPLY_TIMINGS = ['maintenance-window', 'immediately'] as const;
export type ApplyTiming = (typeof APPLY_TIMINGS)[number];

/** Business facts a restaurant manager can answer; the technical sizing is derived from them. */
export interface BusinessSizing {
  /** Explicit tier, or the one derived from peak orders per minute. */
  readonly tier: Tier;
  readonly seats: number;
  readonly peakOrdersPerMinute: number;
}

/** Bounds of a Kubernetes workload managed by a HorizontalPodAutoscaler. */
export interface WorkloadSizing {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly cpuRequestMillicores: number;
  readonly cpuLimitMillicores: number;
  readonly memoryRequestMiB: number;
  readonly memoryLimitMiB: number;
}

/** Every technical value derived from the business sizing; each can be overridden in the file. */
export interface TechnicalSizing {
  readonly database: {
    readonly instanceClass: string;
    /** 0..5; a cafe runs on the Multi-AZ primary alone. */
    readonly readReplicas: number;
    readonly allocatedStorageGiB: number;
    readonly maxAllocatedStorageGiB: number;
    readonly backupRetentionDays: number;
  };
  readonly redis: {
    readonly nodeType: string;
    /** Primary plus replicas, 2..6: automatic failover needs at least two nodes. */
    readonly nodeCount: number;
  };
  readonly api: WorkloadSizing;
  readonly ws: WorkloadSizing;
  readonly nginx: {
    /** nginx is not autoscaled: a fixed replica count behind the cloud load balancer. */
    readonly replicas: number;
  };
}

export interface Location {
  /** DNS-safe id; also the Kubernetes namespace and the prefix of every stack and resource name. */
  readonly id: string;
  readonly displayName: string;
  readonly region: string;
  readonly availabilityZones: readonly string[];
  readonly business: BusinessSizing;
  readonly sizing: TechnicalSizing;
  readonly domains: {
    /** Public host name of the order API and websocket endpoint (nginx). */
    readonly api: string;
    /** Public host name of the CDN (CloudFront alias). */
    readonly cdn: string;
  };
  /** Cost-allocation tags, merged into the default tags of every taggable resource. */
  readonly tags: Readonly<Record<string, string>>;
  readonly alertEmail: string;
  /**
   * Bump to rotate the RDS master password: Terraform sends the write-only password only
   * when this number changes.
   */
  readonly databasePasswordVersion: number;
  /**
   * When changes that restart or fail over a node take effect, per service (`applyChanges` in the
   * file; each defaults to `maintenance-window`).
   */
  readonly applyChanges: { readonly database: ApplyTiming; readonly redis: ApplyTiming };
  /** Policy rules waived for this location's stacks, each with its written reason. */
  readonly policyWaivers: readonly { readonly rule: string; readonly reason: string }[];
  /** The file this location came from, for error messages. */
  readonly sourceFile: string;
}
