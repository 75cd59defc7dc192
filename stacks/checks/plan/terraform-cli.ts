/**
 * Runs the real Terraform CLI. Missing Terraform is an error that says how to install it: plan
 * checks never pass silently without it.
 */
import { spawn, spawnSync } from 'node:child_process';

/** Write-only attributes (the RDS master password design) need Terraform 1.11. */
export const MIN_TERRAFORM_VERSION = '1.11.0';

export class TerraformMissingError extends Error {
  constructor(detail: string) {
    super(
      `${detail}: install Terraform >= ${MIN_TERRAFORM_VERSION} (https://developer.hashicorp.com/terraform/install, ` +
        'or `apt-get install terraform` from HashiCorp\'s apt repository) and put it on PATH, or set TERRAFORM_BIN',
    );
    this.name = 'TerraformMissingError';
  }
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Finds Terraform and checks its version; returns the binary and version. */
export function findTerraform(env: Readonly<Record<string, string | undefined>>): { bin: string; version: string } {
  const bin = env.TERRAFORM_BIN ?? 'terraform';
  const result = spawnSync(bin, ['version', '-json'], { encoding: 'utf8', env: { ...env, CHECKPOINT_DISABLE: '1' } });
  if (result.error) throw new TerraformMissingError(`terraform not found (tried "${bin}")`);
  let version: string;
  try {
    version = (JSON.parse(result.stdout) as { terraform_version: string }).terraform_version;
  } catch {
    throw new TerraformMissingError(`"${bin} version -json" did not answer with a version`);
  }
  if (compareVersions(version, MIN_TERRAFORM_VERSION) < 0) {
    throw new TerraformMissingError(`terraform ${version} is too old (need >= ${MIN_TERRAFORM_VERSION})`);
  }
  return { bin, version };
}

export interface TerraformRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export function runTerraform(bin: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<TerraformRun> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      }),
    );
  });
}
