/**
 * `npm run affected -- --since <git-ref> [--out FILE]`
 * `npm run affected -- --all [--out FILE]`
 *
 * The locations a change since `<git-ref>` makes deployable (`deploy-targets.ts`), judged like
 * `npm run plan -- --affected-since` by the synthesized JSON of both trees (`affected-stacks.ts`),
 * with each location's region and the role CI assumes there; `--all` lists every location. Prints
 * them for people and writes them as JSON to `--out` for `.github/workflows/deploy.yml` and
 * `drift.yml`. Runs no Terraform and needs no credentials.
 *
 * Exit codes: 0 listed (removed stacks are listed, not a failure: the pull request's plan check
 * refused them unless `--allow-removal`); 2 when it cannot run (bad input, bad ref, usage).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { disableTokenStackTraces } from '../../infra/cdktf';
import { LocationConfigError } from '../../infra/config/location-config-error';
import { expectedError, isParseArgsError, runCli } from '../../cli/run-cli';
import { SettingsError } from '../../settings-error';
import { loadSynthInputs, REPO_ROOT } from '../../synth-options';
import { synthesize, type SynthesisResult } from '../../synthesize';
import { AffectedSinceError, compareSyntheses, synthesizeAlongsideRef, type AffectedStacks } from './affected-stacks';
import { deployTargets, renderDeployTargets } from './deploy-targets';

class UsageError extends Error {}

const USAGE = 'usage: npm run affected -- (--since <git-ref> | --all) [--out FILE]';

async function main(argv: string[]): Promise<number> {
  disableTokenStackTraces(process.env);
  const { values } = parseArgs({
    args: argv,
    options: { since: { type: 'string' }, all: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  if ((values.since === undefined) === !values.all) throw new UsageError(`give exactly one of --since <git-ref> and --all\n${USAGE}`);

  const { locations, ...options } = loadSynthInputs(process.env);
  const since = values.since;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'affected-'));
  try {
    // --all needs no synth: every location is listed whatever its stacks hold. Otherwise the
    // tree at the ref is synthesized by a process of its own meanwhile, as for npm run plan.
    let synthesis: SynthesisResult | undefined;
    let affected: AffectedStacks | undefined;
    if (since !== undefined) {
      const refOutdir = path.join(work, 'cdktf.out.since');
      synthesis = await synthesizeAlongsideRef(since, REPO_ROOT, refOutdir, process.env, () => synthesize(locations, options, path.join(work, 'cdktf.out')));
      affected = compareSyntheses(since, refOutdir, synthesis.outdir, synthesis.stacks.map((s) => s.stack));
    }
    const targets = deployTargets({ locations, settings: options.settings, stacks: synthesis?.stacks ?? [], affected });
    for (const line of renderDeployTargets(targets, locations.length)) console.log(line);
    if (values.out) fs.writeFileSync(path.resolve(values.out), `${JSON.stringify(targets, null, 2)}\n`);
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

runCli(() => main(process.argv.slice(2)), {
  expected: [
    expectedError([LocationConfigError, SettingsError, AffectedSinceError, UsageError], 2),
    { matches: isParseArgsError, exitCode: 2, describe: (err) => `${err.message}\n${USAGE}` },
  ],
  unexpectedExitCode: 2,
});
