/**
 * Where each stack keeps its Terraform state. Production: one S3 object per stack in the bucket
 * `platform.yaml` names (`stateBackend`), locked with an S3 lock file (Terraform >= 1.10; cdktf
 * 0.21 predates `use_lockfile`, so it is an override). Checks (`TF_BACKEND=local`): a local file
 * per stack, so plans need no credentials.
 */
import type { TerraformStack } from './cdktf';
import { LocalBackend, S3Backend } from './cdktf';
import type { StateBackendSettings } from './config/platform-settings';
import { SettingsError } from '../settings-error';

export type BackendConfig =
  | ({ readonly kind: 's3' } & StateBackendSettings)
  | {
      readonly kind: 'local';
      /** Directory for `<stackId>.tfstate` files, relative to the stack's synthesized folder. */
      readonly dir: string;
    };

/** What the environment picks: S3 as the platform settings say (the default), or local files. */
export type BackendChoice = { readonly kind: 's3' } | { readonly kind: 'local'; readonly dir: string };

export function applyBackend(stack: TerraformStack, stackId: string, config: BackendConfig): void {
  if (config.kind === 'local') {
    new LocalBackend(stack, { path: `${config.dir}/${stackId}.tfstate` });
    return;
  }
  const backend = new S3Backend(stack, {
    bucket: config.bucket,
    region: config.region,
    key: `${config.keyPrefix}/${stackId}/terraform.tfstate`,
    encrypt: true,
  });
  backend.addOverride('use_lockfile', true);
}

/**
 * Variables that once chose the state bucket. The settings file is the one place for it now; a
 * left-over value in a shell or CI job is refused rather than ignored, so nobody believes they
 * deploy against one bucket while state goes to another.
 */
const RETIRED_STATE_VARIABLES = ['TF_STATE_BUCKET', 'TF_STATE_REGION'] as const;

/** `TF_BACKEND`: `s3` (the default) or `local` (with `TF_STATE_DIR`, for checks). */
export function backendChoiceFromEnvironment(env: Readonly<Record<string, string | undefined>>): BackendChoice {
  for (const name of RETIRED_STATE_VARIABLES) {
    const value = env[name];
    if (value !== undefined) {
      throw new SettingsError(
        `${name} must not be set: the state bucket, region and key prefix come from stateBackend in platform.yaml (edit them there and unset ${name}), got "${value}"`,
      );
    }
  }
  const kind = env.TF_BACKEND ?? 's3';
  if (kind === 'local') return { kind: 'local', dir: env.TF_STATE_DIR ?? '../../../.tfstate' };
  if (kind !== 's3') throw new SettingsError(`TF_BACKEND must be s3 or local, got "${kind}"`);
  return { kind: 's3' };
}

/** The backend every stack gets: the environment's choice, with S3 details from the settings. */
export function resolveBackend(choice: BackendChoice, stateBackend: StateBackendSettings): BackendConfig {
  if (choice.kind === 'local') return choice;
  return { kind: 's3', bucket: stateBackend.bucket, region: stateBackend.region, keyPrefix: stateBackend.keyPrefix };
}
