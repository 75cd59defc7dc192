/**
 * The plan-check switch. A stack's synthesized JSON stays exactly as deploys see it; plan checks
 * add a Terraform override file next to a copy of it that
 *   - keeps state in a local file instead of S3 (no credentials at init),
 *   - gives every aws provider static dummy credentials and skips the calls that verify them
 *     (`skip_credentials_validation`, `skip_requesting_account_id`, `skip_metadata_api_check`),
 *   - points every cross-stack `terraform_remote_state` at a fixture state file.
 * Nothing of this reaches production: it exists only in the plan working folder.
 */

export const OVERRIDE_FILE_NAME = 'zz_plan_check_override.tf.json';

/** Dummy, obviously fake credentials: the plan never reaches AWS. */
const PLAN_CHECK_AWS_SETTINGS = {
  access_key: 'plan-check-no-credentials',
  secret_key: 'plan-check-no-credentials',
  skip_credentials_validation: true,
  skip_requesting_account_id: true,
  skip_metadata_api_check: 'true',
  skip_region_validation: true,
  max_retries: 1,
} as const;

interface StackJson {
  provider?: Record<string, { alias?: string }[]>;
  data?: { terraform_remote_state?: Record<string, unknown> };
}

export function planCheckOverride(stack: StackJson, fixtureStatePaths: ReadonlyMap<string, string>): object {
  const awsProviders = stack.provider?.aws ?? [];
  const remoteStates = Object.keys(stack.data?.terraform_remote_state ?? {});
  for (const name of remoteStates) {
    if (!fixtureStatePaths.has(name)) throw new Error(`plan check: no fixture state for remote state "${name}"`);
  }
  return {
    terraform: { backend: { local: { path: 'terraform.tfstate' } } },
    ...(awsProviders.length > 0
      ? { provider: { aws: awsProviders.map((p) => ({ ...(p.alias ? { alias: p.alias } : {}), ...PLAN_CHECK_AWS_SETTINGS })) } }
      : {}),
    ...(remoteStates.length > 0
      ? {
          data: {
            terraform_remote_state: Object.fromEntries(
              remoteStates.map((name) => [name, { backend: 'local', config: { path: fixtureStatePaths.get(name)! } }]),
            ),
          },
        }
      : {}),
  };
}
