/**
 * `npm run bench:plan`: per-stack terraform init / validate / plan / show times and the whole
 * plan check for the sample locations. Targets on a 2-core machine: median validate+plan per AWS
 * stack under 10 s, the whole sample set under 60 s. Printed, not asserted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { disableTokenStackTraces } from '../../stacks/infra/cdktf';
import { renderTable } from '../../stacks/cli/table';
import { runPlans } from '../../stacks/checks/plan/plan-runner';
import { findMirroredProviders, mirrorDirsFromEnvironment } from '../../stacks/checks/plan/provider-installation';
import { findTerraform } from '../../stacks/checks/plan/terraform-cli';
import { loadSynthInputs } from '../../stacks/synth-options';
import { synthesize } from '../../stacks/synthesize';

async function main(): Promise<void> {
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
  const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
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

void main();
