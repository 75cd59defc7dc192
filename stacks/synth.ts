/**
 * The main job: `npm run synth`. Validates every location, synthesizes all stacks into
 * `cdktf.out/` and prints, per location, its stacks, their resource counts and the derived sizing.
 * A bad location file, platform settings file or setting stops it before anything is written.
 *
 * Options: `--outdir DIR` (default cdktf.out), `--report FILE` (JSON summary with timings),
 * `--plain-cdktf` (cdktf's own synth: the same files, slower; for comparing, see `synthesize.ts`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { disableTokenStackTraces } from './infra/cdktf';
import { expectedError, runCli } from './cli/run-cli';
import { sizingTable } from './cli/sizing-table';
import { renderTable } from './cli/table';
import { LocationConfigError } from './infra/config/location-config-error';
import { SettingsError } from './settings-error';
import { synthesize } from './synthesize';
import { loadSynthInputs, REPO_ROOT } from './synth-options';

function main(argv: string[]): number {
  const started = process.hrtime.bigint();
  disableTokenStackTraces(process.env);
  const { values } = parseArgs({
    args: argv,
    options: {
      outdir: { type: 'string', default: path.join(REPO_ROOT, 'cdktf.out') },
      report: { type: 'string' },
      'plain-cdktf': { type: 'boolean', default: false },
    },
  });
  const outdir = path.resolve(values.outdir!);

  const options = loadSynthInputs(process.env);
  const { locations } = options;
  const { stacks } = synthesize(locations, options, outdir, { plainCdktf: values['plain-cdktf'] });

  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  const totalResources = stacks.reduce((sum, s) => sum + s.resources, 0);

  console.log(
    renderTable(
      ['stack', 'location', 'region', 'resources', 'data', 'outputs'],
      stacks.map((s) => [s.stack, s.location ?? '(region)', s.region, String(s.resources), String(s.dataSources), String(s.outputs)]),
    ),
  );
  console.log(`\n${sizingTable(locations)}\n`);
  console.log(
    `synthesized ${stacks.length} stacks (${totalResources} resources) for ${locations.length} location(s) ` +
      `into ${path.relative(process.cwd(), outdir) || outdir} in ${(wallMs / 1000).toFixed(1)} s, peak RSS ${maxRssMiB.toFixed(0)} MiB`,
  );
  const backend = options.backend.kind === 's3' ? `s3://${options.backend.bucket}/${options.backend.keyPrefix}/ (${options.backend.region})` : 'local';
  console.log(`backend: ${backend}; image tag: ${options.imageTag}; platform settings: ${path.relative(process.cwd(), options.platformSettingsFile)}`);

  if (values.report) {
    fs.writeFileSync(values.report, JSON.stringify({ locations: locations.length, stacks, totalResources, wallMs, maxRssMiB }, null, 2));
  }
  return 0;
}

// Both are thrown while the inputs load, before anything is written.
runCli(() => main(process.argv.slice(2)), {
  expected: [expectedError([LocationConfigError, SettingsError], 1, (err) => `${err.message}\nNothing was synthesized.`)],
});
