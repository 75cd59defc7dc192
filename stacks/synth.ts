/**
 * The main job: `npm run synth`. Validates every location, synthesizes all stacks into
 * `cdktf.out/` and prints, per location, its stacks, their resource counts and the derived sizing.
 *
 * Output is built in a staging folder and swapped in only when synth succeeded, so a failed run
 * leaves the previous `cdktf.out/` intact and never a half-written one.
 *
 * Options: `--outdir DIR` (default cdktf.out), `--report FILE` (JSON summary with timings).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { App, disableTokenStackTraces } from './cdktf';
import { sizingTable } from './cli/sizing-table';
import { renderTable } from './cli/table';
import { loadLocations } from './config/load-locations';
import { LocationConfigError } from './config/location-config-error';
import { buildPlatformApp } from './platform-app';
import { SettingsError } from './settings-error';
import { REPO_ROOT, synthOptionsFromEnvironment } from './synth-options';

export interface StackSummary {
  readonly stack: string;
  readonly location?: string;
  readonly region: string;
  readonly resources: number;
  readonly dataSources: number;
  readonly outputs: number;
}

interface SynthesizedStackJson {
  resource?: Record<string, Record<string, unknown>>;
  data?: Record<string, Record<string, unknown>>;
  output?: Record<string, unknown>;
}

const countNested = (blocks: Record<string, Record<string, unknown>> | undefined) =>
  Object.values(blocks ?? {}).reduce((sum, byName) => sum + Object.keys(byName).length, 0);

export function summarizeStack(outdir: string, stack: string): Omit<StackSummary, 'location' | 'region'> {
  const json = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as SynthesizedStackJson;
  return {
    stack,
    resources: countNested(json.resource),
    dataSources: countNested(json.data),
    outputs: Object.keys(json.output ?? {}).length,
  };
}

/** Replaces `target` with `staging` so readers see the old or the new tree, never a mix. */
function swapInto(staging: string, target: string): void {
  const old = `${target}.old-${process.pid}`;
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(staging, target);
  fs.rmSync(old, { recursive: true, force: true });
}

function main(argv: string[]): number {
  const started = process.hrtime.bigint();
  disableTokenStackTraces(process.env);
  const { values } = parseArgs({
    args: argv,
    options: { outdir: { type: 'string', default: path.join(REPO_ROOT, 'cdktf.out') }, report: { type: 'string' } },
  });
  const outdir = path.resolve(values.outdir!);

  let options;
  let locations;
  try {
    options = synthOptionsFromEnvironment(process.env);
    locations = loadLocations(options.locationsDir);
  } catch (err) {
    if (err instanceof LocationConfigError || err instanceof SettingsError) {
      console.error(`${err.message}\nNothing was synthesized.`);
      return 1;
    }
    throw err;
  }

  fs.mkdirSync(path.dirname(outdir), { recursive: true });
  const staging = fs.mkdtempSync(`${outdir}.staging-`);
  let summaries: StackSummary[];
  try {
    const app = new App({ outdir: staging });
    const built = buildPlatformApp(app, { locations, backend: options.backend, imageTag: options.imageTag });
    app.synth();
    summaries = [
      ...[...built.platforms.keys()].flatMap((region) => [
        { ...summarizeStack(staging, `platform-${region}`), region },
        { ...summarizeStack(staging, `addons-${region}`), region },
      ]),
      ...[...built.locations.values()].flatMap(({ location }) => [
        { ...summarizeStack(staging, `${location.id}-data`), location: location.id, region: location.region },
        { ...summarizeStack(staging, `${location.id}-app`), location: location.id, region: location.region },
      ]),
    ];
    swapInto(staging, outdir);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }

  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const maxRssMiB = process.resourceUsage().maxRSS / 1024;
  const totalResources = summaries.reduce((sum, s) => sum + s.resources, 0);

  console.log(
    renderTable(
      ['stack', 'location', 'region', 'resources', 'data', 'outputs'],
      summaries.map((s) => [s.stack, s.location ?? '(region)', s.region, String(s.resources), String(s.dataSources), String(s.outputs)]),
    ),
  );
  console.log(`\n${sizingTable(locations)}\n`);
  console.log(
    `synthesized ${summaries.length} stacks (${totalResources} resources) for ${locations.length} location(s) ` +
      `into ${path.relative(process.cwd(), outdir) || outdir} in ${(wallMs / 1000).toFixed(1)} s, peak RSS ${maxRssMiB.toFixed(0)} MiB`,
  );
  console.log(`backend: ${options.backend.kind}; image tag: ${options.imageTag}`);

  if (values.report) {
    fs.writeFileSync(values.report, JSON.stringify({ locations: locations.length, stacks: summaries, totalResources, wallMs, maxRssMiB }, null, 2));
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
