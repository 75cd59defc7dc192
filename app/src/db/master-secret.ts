/**
 * The master login from the break-glass secret `<location>/rds/master` (written by
 * stacks/infra/constructs/postgres-with-replicas.ts: JSON `{username, password, host, port, dbname}`,
 * encrypted with the location's data key). Only the `db-bootstrap` Job's IAM role may read it:
 * `secretsmanager:GetSecretValue` on this secret, and `kms:Decrypt` on the key through Secrets
 * Manager for this secret only.
 *
 * Errors name the secret and the field at fault, never a value: JSON.parse's own message quotes
 * the text it failed on, so it is not passed on.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { AwsCredentialsSource } from '../aws/sigv4-presign';
import type { MasterCredentials, MasterCredentialsSource } from './bootstrap';

/** Other fields (host, port, dbname) are for people; the bootstrap connects where the app does. */
const masterSecretSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
});

export function parseMasterSecret(secretString: string | undefined, secretId: string): MasterCredentials {
  const expected = 'expected JSON {"username": ..., "password": ...}';
  if (secretString === undefined) throw new Error(`secret ${secretId} has no SecretString (a binary secret?); ${expected}`);
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    throw new Error(`secret ${secretId} is not JSON; ${expected}`);
  }
  const result = masterSecretSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new Error(`secret ${secretId} does not hold the master login: ${problems.join('; ')}; ${expected}`);
  }
  return { username: result.data.username, password: result.data.password };
}

export interface SecretsManagerMasterCredentialsOptions {
  readonly region: string;
  /** ARN (or name) of the secret: DATABASE_MASTER_SECRET_ARN. */
  readonly secretId: string;
  /** @default - the default Node credential chain (IRSA in the cluster) */
  readonly credentials?: AwsCredentialsSource;
  /** An endpoint instead of AWS's (tests). @default - the region's Secrets Manager endpoint */
  readonly endpoint?: string;
}

/** Reads the secret once per `read()`; the client lives only for that call. */
export function secretsManagerMasterCredentials(options: SecretsManagerMasterCredentialsOptions): MasterCredentialsSource {
  const { secretId } = options;
  return {
    description: `Secrets Manager secret ${secretId}`,
    read: async () => {
      const client = new SecretsManagerClient({
        region: options.region,
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
      let secretString: string | undefined;
      try {
        secretString = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
      } catch (error) {
        throw new Error(`reading secret ${secretId} failed: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
      } finally {
        client.destroy();
      }
      return parseMasterSecret(secretString, secretId);
    },
  };
}
