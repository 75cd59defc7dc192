/**
 * SigV4 query-string presigning, the mechanism behind both IAM database tokens: an RDS IAM token
 * and an ElastiCache IAM token are each a presigned `GET` URL (scheme removed) that the server
 * verifies against IAM. They differ in the service name, the query and the host that is signed.
 *
 * Credentials come from the default Node chain (`fromNodeProviderChain`): in the cluster that is
 * the pod's IRSA web identity (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, injected by EKS), which
 * the chain exchanges for temporary credentials and refreshes before they expire.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Both services accept tokens for at most 15 minutes. */
export const IAM_TOKEN_LIFETIME_SECONDS = 900;

export type AwsCredentialsSource = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface PresignRequest {
  readonly service: 'rds-db' | 'elasticache';
  readonly region: string;
  /** The host (and `:port` for RDS) that is signed; the server recomputes it from the connection. */
  readonly host: string;
  readonly query: Readonly<Record<string, string>>;
  readonly credentials: AwsCredentialsSource;
  /** @default - now */
  readonly signingDate?: Date;
}

/** Returns the presigned URL without its scheme: `host/?Action=connect&...&X-Amz-Signature=...`. */
export async function presignIamToken(request: PresignRequest): Promise<string> {
  const signer = new SignatureV4({ service: request.service, region: request.region, credentials: request.credentials, sha256: Sha256 });
  const [hostname, port] = request.host.split(':');
  const unsigned = new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname,
    port: port === undefined ? undefined : Number(port),
    path: '/',
    query: { ...request.query },
    headers: { host: request.host },
  });
  const signed = await signer.presign(unsigned, { expiresIn: IAM_TOKEN_LIFETIME_SECONDS, signingDate: request.signingDate });
  // Sorted, as the official signers format it (the signature itself does not depend on order).
  const query = Object.entries(signed.query ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(String(value))}`)
    .join('&');
  return `${request.host}/?${query}`;
}

/** The default credential chain, created once per process (it caches and refreshes credentials). */
let defaultChain: AwsCredentialIdentityProvider | undefined;
export function defaultCredentials(): AwsCredentialIdentityProvider {
  defaultChain ??= fromNodeProviderChain();
  return defaultChain;
}

/** SigV4 wants RFC 3986 encoding; encodeURIComponent leaves !'()* alone. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
