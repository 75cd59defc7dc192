/**
 * `npm run bench:plan`, two parts (`BENCH_PLAN_PARTS`, default `samples,fleet`):
 *
 * - samples: per-stack terraform init / validate / plan / show times and the whole plan check for
 *   the sample locations. Targets on a 2-core machine: median validate+plan per AWS stack under
 *   10 s, the whole sample set under 60 s.
 * - fleet: `BENCH_FLEET_SIZE` generated locations (default 100) committed in a temporary git
 *   repository (`fleet-repo.ts`), each figure a fresh `npm run plan` process measured for wall time
 *   and the peak memory of its process tree (`process-tree-run.ts`): (1) the whole plan of every
 *   location; (2) a change to one location file (its alert address) planned with
 *   `--affected-since HEAD`; (3) the plan of that location alone, in a repository holding only its
 *   file; and, for reference, the plan of its location glob in the fleet repository. Goal: (2) costs
 *   at most 1.5x (3). (2) and (3) alternate `BENCH_FLEET_RUNS` times (default 3), best of each;
 *   `BENCH_FLEET_WHOLE=0` skips (1), which takes many minutes (about 6 s of Terraform per AWS stack).
 *
 * Printed, not asserted: shared machines are noisy.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { disableTokenStackTraces } from '../../stacks/infra/cdktf';
import { renderTable } from '../../stacks/cli/table';
import type { PlanReport } from '../../stacks/checks/plan/plan-report';
import { runPlans } from '../../stacks/checks/plan/plan-runner';
import { findMirroredProviders, mirrorDirsFromEnvironment } from '../../stacks/checks/plan/provider-installation';
import { findTerraform } from '../../stacks/checks/plan/terraform-cli';
import { loadSynthInputs } from '../../stacks/synth-options';
import { synthesize } from '../../stacks/synthesize';
import { generatedLocationId } from '../synth/generated-locations';
import { createFleetRepo } from './fleet-repo';
import { runMeasured, type TreeRunResult } from './process-tree-run';

const REPO = path.resolve(__dirname, '../..');
const TSX = path.join(REPO, 'node_modules/tsx/dist/cli.mjs');
const PARTS = (process.env.BENCH_PLAN_PARTS ?? 'samples,fleet').split(',');
const FLEET_SIZE = Number(process.env.BENCH_FLEET_SIZE ?? 100);
const FLEET_RUNS = Number(process.env.BENCH_FLEET_RUNS ?? 3);
const FLEET_WHOLE = process.env.BENCH_FLEET_WHOLE !== '0';
const TARGET_RATIO = 1.5;

const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));

async function samples(): Promise<void> {
  disableTokenStackTraces(process.env);
  const started = Date.now();
  const { locations, ...options } = loadSynthInputs(process.env);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-plan-'));
  const synthesis = synthesize(locations, options, path.join(work, 'cdktf.out'));
  const synthMs = Date.now() - started;
  const terraform = findTerraform(process.env);
  const plans = await runPlans({
    synthOutdir: synthesis.outdir,
    workDir: work,
    stacks: synthesis.stacks,
    terraformBin: terraform.bin,
    mirrored: findMirroredProviders(mirrorDirsFromEnvironment(process.env)),
    providersFromRegistry: false,
  });
  const totalMs = Date.now() - started;
  const planned = plans.filter((p) => p.status === 'planned');
  console.log(
    renderTable(
      ['stack', 'status', 'init s', 'validate s', 'plan s', 'show s', 'validate+plan s'],
      plans.map((p) => [p.stack.stack, p.status, s(p.stepMs.init), s(p.stepMs.validate), s(p.stepMs.plan), s(p.stepMs.show),
        p.status === 'planned' ? s(p.stepMs.validate! + p.stepMs.plan!) : '-']),
    ),
  );
  const vp = planned.map((p) => p.stepMs.validate! + p.stepMs.plan!).sort((a, b) => a - b);
  const median = vp.length === 0 ? NaN : vp.length % 2 ? vp[(vp.length - 1) / 2]! : (vp[vp.length / 2 - 1]! + vp[vp.length / 2]!) / 2;
  console.log(`\nterraform ${terraform.version}, ${os.availableParallelism()} cores; synth ${s(synthMs)} s`);
  console.log(`median validate+plan per AWS stack: ${s(median)} s (target < 10 s); whole run ${s(totalMs)} s (target < 60 s)`);
  const failed = plans.filter((p) => p.status === 'failed');
  if (failed.length > 0) console.log(`FAILED: ${failed.map((p) => `${p.stack.stack} at ${p.error!.step}: ${p.error!.message}`).join('; ')}`);
  fs.rmSync(work, { recursive: true, force: true });
}

interface PlanFigure {
  readonly label: string;
  readonly command: string;
  readonly run: TreeRunResult;
  readonly report?: PlanReport;
}

/** `npm run plan -- <args>` in `repo`, as a process of its own, writing into `out`. */
async function planIn(repo: string, out: string, args: readonly string[], label: string): Promise<PlanFigure> {
  fs.rmSync(out, { recursive: true, force: true });
  const run = await runMeasured(process.execPath, [TSX, 'stacks/checks/plan/plan-main.ts', '--out', out, ...args], {
    cwd: repo,
    // The repository's own locations and settings, as a developer runs it there.
    env: { ...process.env, CHECKPOINT_DISABLE: '1', LOCATIONS_DIR: undefined, PLATFORM_SETTINGS: undefined, WEB_CLIENT_DIR: undefined },
  });
  const summary = path.join(out, 'plan-summary.json');
  const report = fs.existsSync(summary) ? (JSON.parse(fs.readFileSync(summary, 'utf8')) as PlanReport) : undefined;
  const figure = { label, command: args.length > 0 ? `npm run plan -- ${args.join(' ')}` : 'npm run plan', run, report };
  console.error(`  ${label}: ${run.wallS.toFixed(1)} s, peak RSS ${run.peakRssMiB.toFixed(0)} MiB, exit ${run.status}, ${checkedCount(figure)}`);
  if (run.status !== 0) console.error(run.stderr.split('\n').slice(-15).join('\n'));
  return figure;
}

function checkedCount(f: PlanFigure): string {
  if (!f.report) return 'no summary';
  return `${f.report.coverage.planned.length} planned, ${f.report.coverage.structureChecked.length} structure-checked`;
}

const better = (a: PlanFigure | undefined, b: PlanFigure) => (a && a.run.wallS <= b.run.wallS ? a : b);

async function fleet(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-plan-fleet-'));
  try {
    const target = generatedLocationId(Math.min(1, FLEET_SIZE - 1));
    console.error(`fleet: ${FLEET_SIZE} generated locations in ${root}; the changed location is ${target}`);
    const fleetRepo = createFleetRepo(REPO, path.join(root, 'fleet'), FLEET_SIZE);
    const aloneRepo = createFleetRepo(REPO, path.join(root, 'alone'), FLEET_SIZE, [target]);
    // First runs pay once-only costs (the web client build, tsx's transform cache): not measured.
    for (const repo of [fleetRepo.dir, aloneRepo.dir]) {
      const warm = await runMeasured(process.execPath, [TSX, 'stacks/synth.ts', '--outdir', path.join(root, 'warm')], { cwd: repo, env: { ...process.env, LOCATIONS_DIR: undefined, PLATFORM_SETTINGS: undefined, WEB_CLIENT_DIR: undefined } });
      if (warm.status !== 0) throw new Error(`synth in ${repo} failed:\n${warm.stderr}`);
    }

    const targetFile = path.join(fleetRepo.dir, 'locations', `${target}.yaml`);
    const committed = fs.readFileSync(targetFile, 'utf8');
    const changed = committed.replace(`alertEmail: ops-${target}@`, `alertEmail: ops-${target}-night@`);
    if (changed === committed) throw new Error(`${targetFile} has no alertEmail to change`);

    let affected: PlanFigure | undefined;
    let alone: PlanFigure | undefined;
    for (let run = 0; run < FLEET_RUNS; run++) {
      fs.writeFileSync(targetFile, changed);
      try {
        affected = better(affected, await planIn(fleetRepo.dir, path.join(root, 'out-affected'), ['--affected-since', 'HEAD'], '(2) one location file changed, --affected-since HEAD'));
      } finally {
        fs.writeFileSync(targetFile, committed);
      }
      alone = better(alone, await planIn(aloneRepo.dir, path.join(root, 'out-alone'), [], '(3) that location alone (a repository with its file only)'));
    }
    const glob = await planIn(fleetRepo.dir, path.join(root, 'out-glob'), [target], `    its glob in the fleet: ${target} and its region's stacks`);
    const whole = FLEET_WHOLE ? await planIn(fleetRepo.dir, path.join(root, 'out-whole'), [], `(1) the whole plan of ${FLEET_SIZE} locations`) : undefined;

    const figures = [whole, affected!, alone!, glob].filter((f): f is PlanFigure => f !== undefined);
    console.log(`\nFleet of ${FLEET_SIZE} generated locations (${os.availableParallelism()} cores; best of ${FLEET_RUNS} for (2) and (3), one run otherwise):`);
    console.log(
      renderTable(
        ['run', 'command', 'stacks checked', 'wall s', 'peak RSS MiB (process tree)', 'exit'],
        figures.map((f) => [f.label, f.command, checkedCount(f), f.run.wallS.toFixed(1), f.run.peakRssMiB.toFixed(0), String(f.run.status)]),
      ),
    );
    if (!whole) console.log(`(1) skipped (BENCH_FLEET_WHOLE=0)`);
    const ratio = affected!.run.wallS / alone!.run.wallS;
    console.log(
      `\n(2)/(3): ${ratio.toFixed(2)}x the wall time (target <= ${TARGET_RATIO}) ${ratio <= TARGET_RATIO ? 'MET' : 'MISSED'}; ` +
        `memory ${(affected!.run.peakRssMiB / alone!.run.peakRssMiB).toFixed(2)}x; (2) vs its glob in the fleet ${(affected!.run.wallS / glob.run.wallS).toFixed(2)}x` +
        (whole ? `; (1)/(2) ${(whole.run.wallS / affected!.run.wallS).toFixed(1)}x` : ''),
    );
    console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (PARTS.includes('samples')) await samples();
  if (PARTS.includes('fleet')) await fleet();
}

void main();
