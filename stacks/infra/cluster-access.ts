/**
 * How the kubernetes and helm providers reach a region's EKS cluster: endpoint and CA from the
 * platform stack (cross-stack references), and a short-lived token from `aws eks get-token` at
 * plan/apply time, so no credential is ever written to code or state.
 */
import { Fn } from './cdktf';
import type { PlatformOutputs } from './stack-contracts';

export interface ClusterAccess {
  readonly host: string;
  readonly clusterCaCertificate: string;
  readonly exec: { apiVersion: string; command: string; args: string[] };
}

export function clusterAccess(platform: PlatformOutputs): ClusterAccess {
  return {
    host: platform.clusterEndpoint,
    clusterCaCertificate: Fn.base64decode(platform.clusterCertificateAuthorityData),
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: 'aws',
      args: ['eks', 'get-token', '--cluster-name', platform.clusterName, '--region', platform.region],
    },
  };
}
