/**
 * RDS IAM authentication tokens for the pg pools (DATABASE_AUTH=iam): pg asks for a password on
 * every new connection, so a token per endpoint and user is cached and re-signed well before its
 * 15 minutes run out. Signing is local (HMAC), but caching keeps a burst of new connections (a
 * pool filling up after a failover) from each walking the credential chain.
 */
import type { IamTokenProvider } from '../db/pg-pools';
import { defaultCredentials, IAM_TOKEN_LIFETIME_SECONDS, presignIamToken, type AwsCredentialsSource } from './sigv4-presign';

/** A cached token is replaced once it is this old (tokens live 15 minutes). */
export const RDS_TOKEN_REUSE_MS = 10 * 60_000;

export interface RdsIamTokenOptions {
  readonly region: string;
  /** @default - the default Node credential chain (IRSA in the cluster) */
  readonly credentials?: AwsCredentialsSource;
  /** @default Date.now */
  readonly now?: () => number;
}

export function createRdsIamTokenProvider(options: RdsIamTokenOptions): IamTokenProvider {
  if (RDS_TOKEN_REUSE_MS >= IAM_TOKEN_LIFETIME_SECONDS * 1000) throw new Error('RDS_TOKEN_REUSE_MS must be shorter than the token lifetime');
  const now = options.now ?? Date.now;
  const cache = new Map<string, { token: Promise<string>; signedAt: number }>();
  return (endpoint) => {
    const key = `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
    const cached = cache.get(key);
    if (cached && now() - cached.signedAt < RDS_TOKEN_REUSE_MS) return cached.token;
    const token = presignIamToken({
      service: 'rds-db',
      region: options.region,
      host: `${endpoint.host}:${endpoint.port}`,
      query: { Action: 'connect', DBUser: endpoint.user },
      credentials: options.credentials ?? defaultCredentials(),
      signingDate: new Date(now()),
    });
    cache.set(key, { token, signedAt: now() });
    // A failed signing (no credentials yet) must not be served from the cache to the next caller.
    token.catch(() => {
      if (cache.get(key)?.token === token) cache.delete(key);
    });
    return token;
  };
}
