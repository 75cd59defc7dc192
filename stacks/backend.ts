/**
 * Where each stack keeps its Terraform state. Production: one S3 object per stack, locked with
 * an S3 lock file (Terraform >= 1.10; cdktf 0.21 predates `use_lockfile`, so it is an override).
 * Checks (`TF_BACKEND=local`): a local file per stack, so plans need no credentials.
 */
import type { TerraformStack } from './cdktf';
import { LocalBackend, S3Backend } from './cdktf';
import { SettingsError } from './settings-error';

export type BackendConfig =
  | {
      readonly kind: 's3';
      /** Versioned, encrypted bucket created once per account (README: state backend bootstrap). */
      readonly bucket: string;
      readonly region: string;
      /** @default 'restaurant-platform' */
      readonly keyPrefix?: string;
    }
  | {
      readonly kind: 'local';
      /** Directory for `<stackId>.tfstate` files, relative to the stack's synthesized folder. */
      readonly dir: string;
    };

export function applyBackend(stack: TerraformStack, stackId: string, config: BackendConfig): void {
  if (config.kind === 'local') {
    new LocalBackend(stack, { path: `${config.dir}/${stackId}.tfstate` });
    return;
  }
  const backend = new S3Backend(stack, {
    bucket: config.bucket,
    region: config.region,
    key: `${config.keyPrefix ?? 'restaurant-platform'}/${stackId}/terraform.tfstate`,
    encrypt: true,
  });
  backend.addOverride('use_lockfile', true);
}

/**
 * The backend from the environment: `TF_BACKEND` (`s3`, the default, or `local`),
 * `TF_STATE_BUCKET` and `TF_STATE_REGION` for S3.
 */
export function backendFromEnvironment(env: Readonly<Record<string, string | undefined>>): BackendConfig {
  const kind = env.TF_BACKEND ?? 's3';
  if (kind === 'local') return { kind: 'local', dir: env.TF_STATE_DIR ?? '../../../.tfstate' };
  if (kind !== 's3') throw new SettingsError(`TF_BACKEND must be s3 or local, got "${kind}"`);
  const bucket = env.TF_STATE_BUCKET ?? DEFAULT_STATE_BUCKET;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new SettingsError(`TF_STATE_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens), got "${bucket}"`);
  }
  return { kind: 's3', bucket, region: env.TF_STATE_REGION ?? DEFAULT_STATE_REGION };
}

export const DEFAULT_STATE_BUCKET = 'banrimkwae-platform-tfstate';
export const DEFAULT_STATE_REGION = 'ap-southeast-1';
