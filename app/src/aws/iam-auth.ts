/**
 * The IAM token providers a process needs, from its environment contract: an RDS signer when
 * DATABASE_AUTH=iam and an ElastiCache signer when REDIS_AUTH=iam. Every process entry (api, ws,
 * migrate, maintenance) takes its providers from here, so they all authenticate the same way.
 */
import type { RedisIamTokenProvider } from '../cache/redis-client';
import type { AppConfig } from '../config';
import type { IamTokenProvider } from '../db/pg-pools';
import { createElastiCacheIamTokenProvider } from './elasticache-iam-token';
import { createRdsIamTokenProvider } from './rds-iam-token';
import type { AwsCredentialsSource } from './sigv4-presign';

export interface IamTokenProviders {
  readonly database?: IamTokenProvider;
  readonly redis?: RedisIamTokenProvider;
}

export type IamConfig = Pick<AppConfig, 'DATABASE_AUTH' | 'REDIS_AUTH' | 'AWS_REGION' | 'REDIS_IAM_CACHE_NAME'>;

/** @param credentials tests pass static ones; @default - the default Node chain (IRSA in the cluster) */
export function iamTokenProviders(config: IamConfig, credentials?: AwsCredentialsSource): IamTokenProviders {
  // The contract already requires these with iam; the checks keep the types honest.
  const required = (name: 'AWS_REGION' | 'REDIS_IAM_CACHE_NAME', why: string): string => {
    const value = config[name];
    if (!value) throw new Error(`${why} needs ${name}`);
    return value;
  };
  return {
    database:
      config.DATABASE_AUTH === 'iam'
        ? createRdsIamTokenProvider({ region: required('AWS_REGION', 'DATABASE_AUTH=iam'), credentials })
        : undefined,
    redis:
      config.REDIS_AUTH === 'iam'
        ? createElastiCacheIamTokenProvider({
            region: required('AWS_REGION', 'REDIS_AUTH=iam'),
            cacheName: required('REDIS_IAM_CACHE_NAME', 'REDIS_AUTH=iam'),
            credentials,
          })
        : undefined,
  };
}
