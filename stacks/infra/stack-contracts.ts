/**
 * What each stack offers the stacks built on it. Values are Terraform tokens: when a downstream
 * stack uses one, cdktf turns it into an output of the upstream stack and a remote-state read in
 * the downstream one. Stacks implement these interfaces so the app stack can be written and tested
 * against a contract rather than against another stack's internals.
 */
import type { PullThroughCacheUrls } from './constructs/image-pull-through-cache';

/** The four kinds of stack: per region `platform-<region>` and `addons-<region>`, per location `<location>-data` and `<location>-app`. */
export type StackKind = 'platform' | 'addons' | 'data' | 'app';

/** `platform-<region>`: network, cluster and image registries shared by a region's locations. */
export interface PlatformOutputs {
  readonly region: string;
  readonly vpcId: string;
  readonly vpcCidrBlock: string;
  /** One per availability zone, in the order of the region's zones. */
  readonly privateSubnetIds: readonly string[];
  readonly databaseSubnetIds: readonly string[];
  readonly clusterName: string;
  readonly clusterEndpoint: string;
  /** Base64 PEM, as EKS returns it. */
  readonly clusterCertificateAuthorityData: string;
  /** The EKS-managed cluster security group, attached to every managed node. */
  readonly clusterSecurityGroupId: string;
  readonly oidcProviderArn: string;
  /** OIDC issuer without the `https://` scheme, as IAM trust-policy condition keys need it. */
  readonly oidcIssuerHostPath: string;
  readonly ecrRepositoryUrls: { readonly api: string; readonly ws: string };
  /**
   * Where third-party images are pulled from, per upstream registry: the region's ECR
   * pull-through cache (`<account>.dkr.ecr.<region>.amazonaws.com/<prefix>`); `cachedImage` maps
   * an upstream image name onto it.
   */
  readonly pullThroughCacheUrls: PullThroughCacheUrls;
  /** IRSA role of Alertmanager (`monitoring/kube-prometheus-stack-alertmanager`): publishes to the region's location alert topics. */
  readonly alertmanagerRoleArn: string;
}

/**
 * IRSA roles of the cluster controllers the `addons-<region>` stack installs, created by the
 * platform stack (`PlatformStack.controllerRoles`, the addons stack's `controllerRoles` prop).
 */
export interface ClusterControllerRoles {
  /** Trusted by `kube-system/aws-load-balancer-controller`. */
  readonly loadBalancerControllerRoleArn: string;
  /** Trusted by `kube-system/cluster-autoscaler`. */
  readonly clusterAutoscalerRoleArn: string;
  /** Trusted by `kube-system/external-dns`; present when the region's API names have hosted zones. */
  readonly externalDnsRoleArn?: string;
}

/** `<location>-data`: the stateful services of one location. */
export interface LocationDataOutputs {
  readonly database: {
    readonly primaryHost: string;
    /** One per read replica; empty for a location without replicas. */
    readonly replicaHosts: readonly string[];
    readonly port: number;
    readonly name: string;
    /** The application's login role; it authenticates with RDS IAM tokens, not a password. */
    readonly appUser: string;
    /**
     * Secrets Manager secret of the break-glass master login (JSON with username and password).
     * Only the database bootstrap Job is told it, and only its role may read it.
     */
    readonly masterSecretArn: string;
  };
  readonly redis: {
    readonly primaryHost: string;
    readonly readerHost: string;
    readonly port: number;
    /** ElastiCache RBAC user that authenticates with IAM. */
    readonly user: string;
  };
  readonly assets: {
    readonly bucketName: string;
    readonly cdnDomainName: string;
    readonly distributionId: string;
  };
  /** IAM role assumed by the api's Kubernetes service account (IRSA). */
  readonly appRoleArn: string;
  /**
   * IAM role assumed by the database bootstrap Job's own service account (IRSA,
   * `system:serviceaccount:<location>:db-bootstrap`): reads the master secret, nothing else.
   */
  readonly databaseBootstrapRoleArn: string;
  /**
   * ACM certificate of `domains.api`, in the location's region, for the TLS listener of the
   * nginx Network Load Balancer. Issued (DNS-validated) by the time the value resolves, so the
   * app stack never puts a certificate pending validation on the listener.
   */
  readonly apiCertificateArn: string;
}
