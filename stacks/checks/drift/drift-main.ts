/**
 * `npm run drift [-- <location-glob>...] [--out DIR] [--concurrency N] [--no-refresh]`
 *
 * Synthesizes every stack with the settings deploys use (the backend `platform.yaml` names, or
 * `TF_BACKEND=local`), then for the stacks of the matching locations and their regions runs
 * `terraform init` and `terraform plan -detailed-exitcode -refresh=true -lock=false` against that
 * state, with the credentials of the environment (`drift-runner.ts`). Writes
 * `drift-summary.md` (laid out like the plan summary) and `drift-summary.json` (with one issue
 * title and body per location and region) to `--out` (default `drift-out/`).
 *
 * Stacks whose providers cannot be installed here (kubernetes, helm: no mirror) are listed as
 * not checked, never as in sync; `PLAN_PROVIDERS_FROM_REGISTRY=1` installs them from the registry
 * and plans them (which needs the cluster's API endpoint and the AWS CLI, as a deploy does).
 * `--no-refresh` compares with the recorded state only (no reads of the real resources).
 *
 * Exit codes: 0 no drift, 2 drift, 1 error (a stack failed to init or plan, or the check could
 * not run). Stacks not checked do not change the code; the summary names them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { disableTokenStackTraces } from '../../infra/cdktf';
import type { BackendConfig } from '../../infra/backend';
import { LocationConfigError } from '../../infra/config/location-config-error';
import { expectedError, isParseArgsError, runCli } from '../../cli/run-cli';
import { SettingsError } from '../../settings-error';
import { loadSynthInputs, REPO_ROOT } from '../../synth-options';
import { synthesize } from '../../synthesize';
import { matchLocations } from '../plan/location-glob';
import { workflowRunUrl } from '../plan/plan-comment';
import { findMirroredProviders, mirrorDirsFromEnvironment } from '../plan/provider-installation';
import { findTerraform, TerraformMissingError } from '../plan/terraform-cli';
import { driftExitCode, driftReport, renderDriftMarkdown } from './drift-report';
import { runDriftChecks } from './drift-runner';

class UsageError extends Error {}

const USAGE = 'usage: npm run drift -- [<location-glob>...] [--out DIR] [--concurrency N] [--no-refresh]';

function describeBackend(backend: BackendConfig): string {
  return backend.kind === 's3' ? `s3://${backend.bucket}/${backend.keyPrefix}/ (${backend.region})` : `local files (${backend.dir})`;
}

async function main(argv: string[]): Promise<number> {
  const started = Date.now();
  disableTokenStackTraces(process.env);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: path.join(REPO_ROOT, 'drift-out') },
      concurrency: { type: 'string' },
      'no-refresh': { type: 'boolean', default: false },
    },
  });
  const workDir = path.resolve(values.out!);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0)) {
    throw new UsageError(`--concurrency must be a positive integer, got "${values.concurrency}"`);
  }

  const { locations, ...options } = loadSynthInputs(process.env);
  const selected = new Set(matchLocations(locations.map((l) => l.id), positionals));
  if (selected.size === 0) {
    throw new UsageError(`no location matches ${positionals.map((g) => `"${g}"`).join(', ')} (locations: ${locations.map((l) => l.id).join(', ')})`);
  }
  const terraform = findTerraform(process.env);
  const mirrored = findMirroredProviders(mirrorDirsFromEnvironment(process.env));

  // Every location is synthesized: a region's stacks depend on all of its locations.
  const synthOutdir = path.join(workDir, 'cdktf.out');
  const synthesis = await synthesize(locations, options, synthOutdir);
  const regions = new Set(locations.filter((l) => selected.has(l.id)).map((l) => l.region));
  const stacks = synthesis.stacks.filter((s) => (s.location ? selected.has(s.location) : regions.has(s.region)));

  const refresh = !values['no-refresh'];
  const results = await runDriftChecks({
    synthOutdir,
    workDir,
    stacks,
    terraformBin: terraform.bin,
    mirrored,
    providersFromRegistry: process.env.PLAN_PROVIDERS_FROM_REGISTRY === '1',
    refresh,
    concurrency,
    log: (line) => console.error(line),
  });

  const input = {
    refresh,
    backend: describeBackend(options.backend),
    terraformVersion: terraform.version,
    wallSeconds: (Date.now() - started) / 1000,
    stacks: results,
    workDir,
    runUrl: workflowRunUrl(process.env),
  };
  const report = driftReport(input);
  const markdown = renderDriftMarkdown(input);
  fs.writeFileSync(path.join(workDir, 'drift-summary.md'), markdown);
  fs.writeFileSync(path.join(workDir, 'drift-summary.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(markdown);
  if (report.failures.length > 0) console.error(`drift check failed:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`);
  return driftExitCode(report.status);
}

// 1 for whatever stops the check: 2 means it ran and found drift.
runCli(() => main(process.argv.slice(2)), {
  expected: [
    expectedError([LocationConfigError, SettingsError, TerraformMissingError, UsageError], 1),
    { matches: isParseArgsError, exitCode: 1, describe: (err) => `${err.message}\n${USAGE}` },
  ],
  unexpectedExitCode: 1,
});
