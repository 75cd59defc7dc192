/**
 * ElastiCache IAM authentication tokens (REDIS_AUTH=iam): the RBAC user's password is a SigV4
 * presigned `GET http://<cache name>/?Action=connect&User=<user id>`, signed for the
 * `elasticache` service. The signed host is the replication group id, not the endpoint the client
 * connects to, and the user id of an IAM-enabled user equals its name (the data stack enforces it).
 * The redis client refreshes its password on a timer (see cache/redis-client.ts).
 */
import type { RedisIamTokenProvider } from '../cache/redis-client';
import { defaultCredentials, presignIamToken, type AwsCredentialsSource } from './sigv4-presign';

export interface ElastiCacheIamTokenOptions {
  readonly region: string;
  /** The replication group id (REDIS_IAM_CACHE_NAME). */
  readonly cacheName: string;
  /** @default - the default Node credential chain (IRSA in the cluster) */
  readonly credentials?: AwsCredentialsSource;
  /** @default Date.now */
  readonly now?: () => number;
}

export function createElastiCacheIamTokenProvider(options: ElastiCacheIamTokenOptions): RedisIamTokenProvider {
  const now = options.now ?? Date.now;
  return (identity) =>
    presignIamToken({
      service: 'elasticache',
      region: options.region,
      host: options.cacheName.toLowerCase(),
      query: { Action: 'connect', User: identity.user },
      credentials: options.credentials ?? defaultCredentials(),
      signingDate: new Date(now()),
    });
}
